import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClient } from "./clients.js";
import { stopOurDaemon } from "./our-daemon.js";
import { EVERYTHING, PROXY } from "./everything-server.js";
import { median, ms, percentile } from "./stats.js";

const ROUNDS = 10;
const CALLS_PER_ROUND = 300;
const WARMUP = 300;
const SESSIONS = 10;
const CALLS_PER_SESSION = 1000;
/** Calls each session makes before the measured ones: V8 compiles and tunes a fresh process meanwhile. */
const SESSION_WARMUP = 500;

const echo = { name: "echo", arguments: { message: "benchmark" } };

async function timeCalls(client: StdioClient, count: number, into: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await client.call("tools/call", echo);
    into.push(performance.now() - start);
  }
}

/** A home for our daemon; `socketless` puts it at a path too long for a Unix socket, so proxies use HTTP. */
function benchHome(socketless: boolean): { top: string; home: string } {
  const top = mkdtempSync(join(tmpdir(), "msm-bench-"));
  const home = socketless ? join(top, "a-home-path-longer-than-any-unix-socket-path-may-be".repeat(2)) : top;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(
    join(home, "config.json"),
    JSON.stringify({ servers: { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] } } }),
  );
  return { top, home };
}

interface Path {
  label: string;
  client: StdioClient;
  times: number[];
  elapsed: number;
}

/**
 * Issue: the shared daemon's cost. Sequential echo calls to server-everything over stdio, (a) spawned directly
 * by the client, (b) through mcp-proxy -> daemon (session socket) -> the daemon's stdio child and (c) the same
 * with the proxy reaching the daemon over HTTP, in alternating rounds; then SESSIONS proxies calling at once.
 */
export async function daemonSharing(): Promise<string> {
  const homes = [benchHome(false), benchHome(true)];
  const [env, httpEnv] = homes.map(({ home }) => ({ ...process.env, MCP_SESSION_MANAGER_HOME: home }));
  const proxies: StdioClient[] = [];
  try {
    const direct = new StdioClient(process.execPath, [EVERYTHING, "stdio"]);
    await direct.initialize();
    const proxied = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
    const overHttp = new StdioClient(process.execPath, [PROXY, "--target", "everything"], httpEnv);
    proxies.push(proxied, overHttp);
    await Promise.all([proxied.initialize(), overHttp.initialize()]);

    const paths: Path[] = [
      { label: "(a) client -> stdio -> server-everything", client: direct, times: [], elapsed: 0 },
      { label: "(b) client -> mcp-proxy -> session socket -> daemon -> stdio child", client: proxied, times: [], elapsed: 0 },
      { label: "(c) client -> mcp-proxy -> HTTP -> daemon -> stdio child", client: overHttp, times: [], elapsed: 0 },
    ];
    for (const path of paths) await timeCalls(path.client, WARMUP, []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of paths) {
        const start = performance.now();
        await timeCalls(path.client, CALLS_PER_ROUND, path.times);
        path.elapsed += performance.now() - start;
      }
    }
    await Promise.all([direct.close(), overHttp.close()]);

    // Many sessions at once, each calling sequentially as a client does.
    const sessions = [proxied];
    for (let i = 1; i < SESSIONS; i++) {
      const client = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
      proxies.push(client);
      sessions.push(client);
    }
    await Promise.all(sessions.slice(1).map((client) => client.initialize()));
    let errors = 0;
    const burst = async (calls: number) =>
      Promise.all(
        sessions.map(async (client, index) => {
          for (let i = 0; i < calls; i++) {
            const message = `s${index}-${i}`;
            const answer = await client.call("tools/call", { name: "echo", arguments: { message } });
            if (answer.result?.content?.[0]?.text !== `Echo: ${message}`) errors += 1;
          }
        }),
      );
    const coldStarted = performance.now();
    await burst(SESSION_WARMUP);
    const coldElapsed = performance.now() - coldStarted;
    const started = performance.now();
    await burst(CALLS_PER_SESSION);
    const concurrentElapsed = performance.now() - started;
    const total = SESSIONS * CALLS_PER_SESSION;
    const coldTotal = SESSIONS * SESSION_WARMUP;

    const [d, p, h] = paths.map((path) => median(path.times)) as [number, number, number];
    const rate = (path: Path) => ((path.times.length / path.elapsed) * 1000).toFixed(0);
    return [
      `### Shared daemon (sequential \`tools/call\` echo to server-everything over stdio, ${ROUNDS} alternating rounds of ${CALLS_PER_ROUND})`,
      "",
      "| path | median | p90 | p99 | calls/s |",
      "|---|---|---|---|---|",
      ...paths.map(
        (path) =>
          `| ${path.label} | ${ms(median(path.times))} | ${ms(percentile(path.times, 90))} | ${ms(percentile(path.times, 99))} | ${rate(path)} |`,
      ),
      "",
      `Ratio of medians (b)/(a): **${(p / d).toFixed(2)}x** (target: at most 3x); sequential throughput through the daemon: ` +
        `**${rate(paths[1]!)} calls/s** (target: at least 1000). Over HTTP instead of the session socket, (c)/(a): ${(h / d).toFixed(2)}x.`,
      "",
      `${SESSIONS} sessions (separate mcp-proxy processes) calling at once, each sequentially, one shared child: ` +
        `steady state (${CALLS_PER_SESSION} calls each, after ${SESSION_WARMUP} warm-up calls) **${((total / concurrentElapsed) * 1000).toFixed(0)} calls/s** in total; ` +
        `the warm-up itself, right after the proxies started, ${((coldTotal / coldElapsed) * 1000).toFixed(0)} calls/s. ` +
        `**${errors} errors** out of ${total + coldTotal} (target: at least 2000 calls/s, zero errors).`,
    ].join("\n");
  } finally {
    await Promise.all(proxies.map((client) => client.close()));
    for (const { home, top } of homes) {
      await stopOurDaemon(home, "everything");
      rmSync(top, { recursive: true, force: true });
    }
  }
}
