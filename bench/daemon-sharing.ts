import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClient } from "./clients.js";
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

/**
 * Issue: the shared daemon's cost. Sequential echo calls to server-everything over stdio, (a) spawned directly
 * by the client and (b) through mcp-proxy -> daemon -> the daemon's stdio child, in alternating rounds; then
 * SESSIONS proxies calling at once.
 */
export async function daemonSharing(): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "msm-bench-"));
  writeFileSync(join(home, "config.json"), JSON.stringify({ servers: { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] } } }));
  const env = { ...process.env, MCP_SESSION_MANAGER_HOME: home };
  const proxies: StdioClient[] = [];
  try {
    const direct = new StdioClient(process.execPath, [EVERYTHING, "stdio"]);
    await direct.initialize();
    const proxied = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
    proxies.push(proxied);
    await proxied.initialize();

    await timeCalls(direct, WARMUP, []);
    await timeCalls(proxied, WARMUP, []);
    const directTimes: number[] = [];
    const proxiedTimes: number[] = [];
    let directElapsed = 0;
    let proxiedElapsed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let start = performance.now();
      await timeCalls(direct, CALLS_PER_ROUND, directTimes);
      directElapsed += performance.now() - start;
      start = performance.now();
      await timeCalls(proxied, CALLS_PER_ROUND, proxiedTimes);
      proxiedElapsed += performance.now() - start;
    }
    await direct.close();

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
    await Promise.all(
      sessions.map(async (client, index) => {
        for (let i = 0; i < CALLS_PER_SESSION; i++) {
          const message = `s${index}-${i}`;
          const answer = await client.call("tools/call", { name: "echo", arguments: { message } });
          if (answer.result?.content?.[0]?.text !== `Echo: ${message}`) errors += 1;
        }
      }),
    );
    const concurrentElapsed = performance.now() - started;
    const total = SESSIONS * CALLS_PER_SESSION;
    const coldTotal = SESSIONS * SESSION_WARMUP;

    const d = median(directTimes);
    const p = median(proxiedTimes);
    const sequential = (count: number, elapsed: number) => ((count / elapsed) * 1000).toFixed(0);
    return [
      `### Shared daemon (sequential \`tools/call\` echo to server-everything over stdio, ${ROUNDS} alternating rounds of ${CALLS_PER_ROUND})`,
      "",
      "| path | median | p90 | p99 | calls/s |",
      "|---|---|---|---|---|",
      `| (a) client -> stdio -> server-everything | ${ms(d)} | ${ms(percentile(directTimes, 90))} | ${ms(percentile(directTimes, 99))} | ${sequential(directTimes.length, directElapsed)} |`,
      `| (b) client -> mcp-proxy -> daemon -> stdio child | ${ms(p)} | ${ms(percentile(proxiedTimes, 90))} | ${ms(percentile(proxiedTimes, 99))} | ${sequential(proxiedTimes.length, proxiedElapsed)} |`,
      "",
      `Ratio of medians (b)/(a): **${(p / d).toFixed(2)}x** (target: at most 3x); sequential throughput through the daemon: ` +
        `**${sequential(proxiedTimes.length, proxiedElapsed)} calls/s** (target: at least 1000).`,
      "",
      `${SESSIONS} sessions (separate mcp-proxy processes) calling at once, each sequentially, one shared child: ` +
        `steady state (${CALLS_PER_SESSION} calls each, after ${SESSION_WARMUP} warm-up calls) **${((total / concurrentElapsed) * 1000).toFixed(0)} calls/s** in total; ` +
        `the warm-up itself, right after the proxies started, ${((coldTotal / coldElapsed) * 1000).toFixed(0)} calls/s. ` +
        `**${errors} errors** out of ${total + coldTotal} (target: at least 2000 calls/s, zero errors).`,
    ].join("\n");
  } finally {
    await Promise.all(proxies.map((client) => client.close()));
    try {
      const { pid } = JSON.parse(readFileSync(join(home, "everything.lock"), "utf8")) as { pid: number };
      process.kill(pid, "SIGTERM");
    } catch {
      // no daemon came up
    }
    rmSync(home, { recursive: true, force: true });
  }
}
