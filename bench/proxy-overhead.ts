import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpClient, StdioClient } from "./clients.js";
import { PROXY, startEverythingHttp } from "./everything-server.js";
import { bareNodeMemory, median, ms, percentile, processMemory } from "./stats.js";

const ROUNDS = 10;
const CALLS_PER_ROUND = 300;
const WARMUP = 300;
const COLD_STARTS = 20;

const echo = { name: "echo", arguments: { message: "benchmark" } };

async function timeCalls(call: () => Promise<unknown>, count: number, into: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await call();
    into.push(performance.now() - start);
  }
}

/**
 * Issue: what does the proxy add? The same minimal JSON-RPC client calls echo on one server-everything
 * endpoint (a) straight over HTTP and (b) over stdio through mcp-proxy, in alternating rounds.
 */
export async function proxyOverhead(): Promise<string> {
  const server = await startEverythingHttp();
  const home = mkdtempSync(join(tmpdir(), "msm-bench-"));
  writeFileSync(join(home, "config.json"), JSON.stringify({ servers: { everything: { url: server.url.href } } }));
  const env = { ...process.env, MCP_SESSION_MANAGER_HOME: home };
  try {
    const direct = new HttpClient(server.url);
    await direct.initialize();
    const proxied = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
    await proxied.initialize();

    const callDirect = () => direct.call("tools/call", echo);
    const callProxied = () => proxied.call("tools/call", echo);
    await timeCalls(callDirect, WARMUP, []);
    await timeCalls(callProxied, WARMUP, []);
    const directTimes: number[] = [];
    const proxiedTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await timeCalls(callDirect, CALLS_PER_ROUND, directTimes);
      await timeCalls(callProxied, CALLS_PER_ROUND, proxiedTimes);
    }
    const { rss, own } = processMemory(proxied.child.pid!);
    const bare = await bareNodeMemory();
    await proxied.close();
    direct.close();

    // Cold start: spawn to `initialize` answered, the daemon already up.
    const starts: number[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      const start = performance.now();
      const client = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
      await client.initialize();
      starts.push(performance.now() - start);
      await client.close();
    }

    const d = median(directTimes);
    const p = median(proxiedTimes);
    return [
      `### mcp-proxy overhead (sequential \`tools/call\` echo, ${ROUNDS} alternating rounds of ${CALLS_PER_ROUND})`,
      "",
      "| path | median | p90 | p99 | calls/s (from median) |",
      "|---|---|---|---|---|",
      `| (a) client -> HTTP -> server-everything | ${ms(d)} | ${ms(percentile(directTimes, 90))} | ${ms(percentile(directTimes, 99))} | ${(1000 / d).toFixed(0)} |`,
      `| (b) client -> stdio -> mcp-proxy -> HTTP -> server-everything | ${ms(p)} | ${ms(percentile(proxiedTimes, 90))} | ${ms(percentile(proxiedTimes, 99))} | ${(1000 / p).toFixed(0)} |`,
      "",
      `Added by the proxy: **${ms(p - d)}** per call at the median (ratio ${(p / d).toFixed(2)}x; target: at most 0.3 ms).`,
      "",
      `Proxy start to \`initialize\` answered (daemon up, ${COLD_STARTS} starts): median **${ms(median(starts), 1)}**, ` +
        `p90 ${ms(percentile(starts, 90), 1)} (target: median under 150 ms).`,
      "",
      `Proxy memory after ${ROUNDS * CALLS_PER_ROUND + WARMUP} calls: resident **${rss?.toFixed(1) ?? "n/a"} MiB**, ` +
        `of which private to it ${own?.toFixed(1) ?? "n/a"} MiB (target: under 50 MB resident). ` +
        `For scale, an idle \`node\` doing nothing, measured in the same run: resident ${bare.rss?.toFixed(1) ?? "n/a"} MiB, ` +
        `private ${bare.own?.toFixed(1) ?? "n/a"} MiB.`,
    ].join("\n");
  } finally {
    server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
