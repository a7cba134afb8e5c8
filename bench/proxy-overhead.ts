import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpClient, StdioClient } from "./clients.js";
import { EVERYTHING, PROXY, freePort } from "./everything-server.js";
import { ourDaemonPid, stopOurDaemon } from "./our-daemon.js";
import { bareNodeMemory, median, mib, ms, percentile, processMemory } from "./stats.js";

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
 * Issue: what does the proxy add? One server-everything, started by its daemon as a configured HTTP server, is
 * called (a) straight over HTTP by a minimal JSON-RPC client, (b) through mcp-proxy speaking HTTP to it
 * (`mcp-proxy --url`), (c) through mcp-proxy, the session socket and the daemon of an entry with `url` (the route
 * of a remote server), and (d) through mcp-proxy, the session socket and its own daemon (the entry with `command`
 * and `port`), in alternating rounds.
 */
export async function proxyOverhead(): Promise<string> {
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), "msm-bench-"));
  const url = new URL(`http://127.0.0.1:${port}/mcp`);
  const configured = {
    command: process.execPath,
    args: [EVERYTHING, "streamableHttp"],
    env: { PORT: String(port) },
    transport: "streamable-http",
    port,
  };
  writeFileSync(join(home, "config.json"), JSON.stringify({ servers: { everything: configured, remote: { url: url.href } } }));
  const env = { ...process.env, MCP_SESSION_MANAGER_HOME: home };
  try {
    // First its daemon starts the server the three paths share, for a session that then ends: the proxy measured
    // joins a running daemon, as most do, and has not loaded the code that starts one.
    const starter = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
    await starter.initialize();
    await starter.close();
    const hosted = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
    await hosted.initialize();
    const direct = new HttpClient(url);
    await direct.initialize();
    const proxied = new StdioClient(process.execPath, [PROXY, "--url", url.href], env);
    await proxied.initialize();
    const relayed = new StdioClient(process.execPath, [PROXY, "--target", "remote"], env);
    await relayed.initialize();

    const paths = [
      { call: () => direct.call("tools/call", echo), times: [] as number[] },
      { call: () => proxied.call("tools/call", echo), times: [] as number[] },
      { call: () => relayed.call("tools/call", echo), times: [] as number[] },
      { call: () => hosted.call("tools/call", echo), times: [] as number[] },
    ];
    for (const path of paths) await timeCalls(path.call, WARMUP, []);
    for (let round = 0; round < ROUNDS; round++) for (const path of paths) await timeCalls(path.call, CALLS_PER_ROUND, path.times);
    const overHttp = processMemory(proxied.child.pid!);
    const relayedMemory = processMemory(relayed.child.pid!);
    const overSocket = processMemory(hosted.child.pid!);
    const relayDaemon = processMemory(ourDaemonPid(home, "remote"));
    const bare = await bareNodeMemory();
    await Promise.all([proxied.close(), relayed.close()]);
    direct.close();

    // Warm start: spawn to `initialize` answered, the daemon already up, over each route in turn.
    const routes = { url: ["--url", url.href], remote: ["--target", "remote"], everything: ["--target", "everything"] };
    const starts = { url: [] as number[], remote: [] as number[], everything: [] as number[] };
    for (let i = 0; i < COLD_STARTS; i++) {
      for (const route of ["url", "remote", "everything"] as const) {
        const start = performance.now();
        const client = new StdioClient(process.execPath, [PROXY, ...routes[route]], env);
        await client.initialize();
        starts[route].push(performance.now() - start);
        await client.close();
      }
    }
    await hosted.close();

    const [d, p, r, h] = paths.map((path) => median(path.times)) as [number, number, number, number];
    const row = (label: string, times: number[], at: number) =>
      `| ${label} | ${ms(at)} | ${ms(percentile(times, 90))} | ${ms(percentile(times, 99))} | ${(1000 / at).toFixed(0)} |`;
    const memory = (m: { rss?: number; own?: number }) => `resident **${mib(m.rss)}**, private ${mib(m.own)}`;
    return [
      `### mcp-proxy overhead (sequential \`tools/call\` echo, ${ROUNDS} alternating rounds of ${CALLS_PER_ROUND})`,
      "",
      "| path | median | p90 | p99 | calls/s (from median) |",
      "|---|---|---|---|---|",
      row("(a) client -> HTTP -> server-everything", paths[0]!.times, d),
      row("(b) client -> stdio -> mcp-proxy -> HTTP -> server-everything (`mcp-proxy --url`)", paths[1]!.times, p),
      row(
        "(c) client -> stdio -> mcp-proxy -> session socket -> daemon -> HTTP -> server-everything (an entry with `url`)",
        paths[2]!.times,
        r,
      ),
      row(
        "(d) client -> stdio -> mcp-proxy -> session socket -> daemon -> HTTP -> server-everything (`command` and `port`)",
        paths[3]!.times,
        h,
      ),
      "",
      `Added per call at the median: **${ms(p - d)}** over HTTP (b, ${(p / d).toFixed(2)}x), **${ms(r - d)}** through ` +
        `a remote server's daemon (c, ${(r / d).toFixed(2)}x), **${ms(h - d)}** through the daemon (d, ${(h / d).toFixed(2)}x).`,
      "",
      `Proxy start to \`initialize\` answered (daemon up, ${COLD_STARTS} starts each, alternating): median ` +
        `**${ms(median(starts.url), 1)}** over HTTP, **${ms(median(starts.remote), 1)}** through a remote server's daemon, ` +
        `**${ms(median(starts.everything), 1)}** through the daemon.`,
      "",
      `Proxy memory after ${ROUNDS * CALLS_PER_ROUND + WARMUP} calls (target: under 50 MiB resident, 12 MiB private): ` +
        `over HTTP ${memory(overHttp)}; through a remote server's daemon ${memory(relayedMemory)}; ` +
        `through the daemon ${memory(overSocket)}. The remote server's daemon itself (one for all its sessions): ` +
        `${memory(relayDaemon)}. ` +
        `For scale, an idle \`node\` doing nothing, measured in the same run: resident ${mib(bare.rss)}, ` +
        `private ${mib(bare.own)}.`,
    ].join("\n");
  } finally {
    await stopOurDaemon(home, "remote");
    await stopOurDaemon(home, "everything"); // and with it the server it started
    rmSync(home, { recursive: true, force: true });
  }
}
