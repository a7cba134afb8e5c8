import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClient } from "./clients.js";
import { stopOurDaemon } from "./our-daemon.js";
import { EVERYTHING, PROXY, ROOT } from "./everything-server.js";
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

const BYTE_RELAY = `${ROOT}dist-test/bench/byte-relay.js`;

/** The floor's daemon end: a byte relay listening at `socket`, running its own server-everything. */
async function startListeningRelay(socket: string): Promise<ChildProcess> {
  const relay = spawn(process.execPath, [BYTE_RELAY, "listen", socket, process.execPath, EVERYTHING, "stdio"], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  await new Promise<void>((resolve, reject) => {
    relay.stdout.once("data", () => resolve());
    relay.once("exit", (code) => reject(new Error(`the byte relay exited (${String(code)}) before listening`)));
  });
  return relay;
}

/**
 * Issue: the shared daemon's cost. Sequential echo calls to server-everything over stdio, (a) spawned directly
 * by the client, (b) through mcp-proxy -> daemon (session socket) -> the daemon's stdio child and (c) the same
 * with the proxy reaching the daemon over HTTP, in alternating rounds; then SESSIONS proxies calling at once.
 * (d), two processes that only copy bytes in the places of the proxy and the daemon, is the floor of any such
 * design on the machine at hand: (b)/(d) is what our proxy and daemon add to it, measured side by side.
 */
export async function daemonSharing(): Promise<string> {
  const homes = [benchHome(false), benchHome(true)];
  const [env, httpEnv] = homes.map(({ home }) => ({ ...process.env, MCP_SESSION_MANAGER_HOME: home }));
  const proxies: StdioClient[] = [];
  let listeningRelay: ChildProcess | undefined;
  try {
    const direct = new StdioClient(process.execPath, [EVERYTHING, "stdio"]);
    await direct.initialize();
    const relaySocket = join(homes[0]!.top, "byte-relay.sock");
    listeningRelay = await startListeningRelay(relaySocket);
    const relayed = new StdioClient(process.execPath, [BYTE_RELAY, "connect", relaySocket]);
    await relayed.initialize();
    const proxied = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
    const overHttp = new StdioClient(process.execPath, [PROXY, "--target", "everything"], httpEnv);
    proxies.push(proxied, overHttp);
    await Promise.all([proxied.initialize(), overHttp.initialize()]);

    const paths: Path[] = [
      { label: "(a) client -> stdio -> server-everything", client: direct, times: [], elapsed: 0 },
      { label: "(d) client -> byte relay -> Unix socket -> byte relay -> stdio child (the floor)", client: relayed, times: [], elapsed: 0 },
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
    await Promise.all([direct.close(), relayed.close(), overHttp.close()]);

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

    const [d, floor, p, h] = paths.map((path) => median(path.times)) as [number, number, number, number];
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
        `**${rate(paths[2]!)} calls/s** (target: at least 1000). Over HTTP instead of the session socket, (c)/(a): ${(h / d).toFixed(2)}x.`,
      "",
      `The floor on this machine, (d)/(a): **${(floor / d).toFixed(2)}x**; what our proxy and daemon add to it, (b)/(d): ` +
        `**${(p / floor).toFixed(2)}x** (${ms(p - floor)} a call).`,
      "",
      `${SESSIONS} sessions (separate mcp-proxy processes) calling at once, each sequentially, one shared child: ` +
        `steady state (${CALLS_PER_SESSION} calls each, after ${SESSION_WARMUP} warm-up calls) **${((total / concurrentElapsed) * 1000).toFixed(0)} calls/s** in total; ` +
        `the warm-up itself, right after the proxies started, ${((coldTotal / coldElapsed) * 1000).toFixed(0)} calls/s. ` +
        `**${errors} errors** out of ${total + coldTotal} (target: at least 2000 calls/s, zero errors).`,
    ].join("\n");
  } finally {
    listeningRelay?.stdin!.end();
    if (listeningRelay && listeningRelay.exitCode === null) await once(listeningRelay, "exit");
    await Promise.all(proxies.map((client) => client.close()));
    for (const { home, top } of homes) {
      await stopOurDaemon(home, "everything");
      rmSync(top, { recursive: true, force: true });
    }
  }
}
