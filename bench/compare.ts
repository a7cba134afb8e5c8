import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { HttpClient, StdioClient } from "./clients.js";
import { EVERYTHING, PROXY, freePort, startEverythingHttp } from "./everything-server.js";
import { installAlternatives, startListening, stopGroup, ALTERNATIVES } from "./alternatives.js";
import { barChart } from "./svg-chart.js";
import { median, pssMiB } from "./stats.js";
import { processesOfHome } from "../test/helpers/processes.js";
import { ourDaemonPid, stopOurDaemon } from "./our-daemon.js";

type Message = Record<string, any>;
interface Session {
  call(): Promise<Message>;
  close(): Promise<void>;
  /** The process this session spawned (stdio setups), if any. */
  pid?: number;
}
interface Setup {
  label: string;
  open(): Promise<Session>;
  stop(): Promise<void>;
  /** Processes that serve this setup's sessions besides the clients (daemons, bridges and their children). */
  servingPids?(): number[];
}

const echo = { name: "echo", arguments: { message: "benchmark" } };
const SEQUENTIAL_ROUNDS = 5;
const SEQUENTIAL_CALLS = 200;
const WARMUP = 200;
const SESSIONS = 10;
const CONCURRENT_CALLS = 200;
const COLD_STARTS = 10;

function stdioSession(client: StdioClient): Session {
  return { call: () => client.call("tools/call", echo), close: () => client.close(), pid: client.child.pid! };
}

async function openStdio(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Session> {
  const client = new StdioClient(command, args, env);
  const answer = await client.initialize();
  if (answer.error) throw new Error(`${args.join(" ")}: ${answer.error.message}`);
  return stdioSession(client);
}

async function openHttp(url: URL): Promise<Session> {
  const client = new HttpClient(url);
  await client.initialize();
  return { call: () => client.call("tools/call", echo), close: async () => client.close() };
}

/** Children (transitively) of a process, from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((child) => (found.push(child), walk(child)));
  walk(pid);
  return found;
}

async function setups(): Promise<{ all: Setup[]; cleanup: () => Promise<void>; stopOurDaemon: () => Promise<void> }> {
  const alternatives = installAlternatives();
  const cleanups: Array<() => void> = [];
  const home = mkdtempSync(join(tmpdir(), "msm-compare-"));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const http = await startEverythingHttp();
  cleanups.push(http.stop);
  writeFileSync(
    join(home, "config.json"),
    JSON.stringify({
      servers: { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] }, "everything-http": { url: http.url.href } },
    }),
  );
  const env = { ...process.env, MCP_SESSION_MANAGER_HOME: home };
  const proxyPids = new Set<number>();
  const ours = (target: string): Setup => ({
    label:
      target === "everything" ? "mcp-session-manager: proxy -> daemon -> stdio" : "mcp-session-manager: proxy -> daemon -> HTTP server",
    open: async () => {
      const client = new StdioClient(process.execPath, [PROXY, "--target", target], env);
      proxyPids.add(client.child.pid!);
      const answer = await client.initialize();
      if (answer.error) throw new Error(answer.error.message);
      return stdioSession(client);
    },
    stop: async () => {},
    // The remote server's daemon runs in the same home: it is counted with the server it relays to, not with the other.
    servingPids: () => {
      const relay = existsSync(join(home, "everything-http.lock")) ? [ourDaemonPid(home, "everything-http")] : [];
      return target === "everything" ? processesOfHome(home, new Set([...proxyPids, ...relay])) : [http.child.pid!, ...relay];
    },
  });

  const bridge = async (label: string, start: (port: number) => Promise<ChildProcess>): Promise<Setup> => {
    const port = await freePort();
    const child = await start(port);
    cleanups.push(() => stopGroup(child));
    return {
      label,
      open: () => openHttp(new URL(`http://127.0.0.1:${port}/mcp`)),
      stop: async () => stopGroup(child),
      servingPids: () => [child.pid!, ...descendants(child.pid!)],
    };
  };
  const supergateway = await bridge(`supergateway ${ALTERNATIVES.supergateway} (stateful streamable HTTP)`, (port) =>
    startListening(
      process.execPath,
      [
        alternatives.supergateway,
        "--stdio",
        `${process.execPath} ${EVERYTHING} stdio`,
        "--outputTransport",
        "streamableHttp",
        "--stateful",
        "--port",
        String(port),
        "--logLevel",
        "none",
      ],
      port,
    ),
  );
  const mcpProxy = await bridge(`mcp-proxy ${ALTERNATIVES["mcp-proxy"]} (npm, streamable HTTP)`, (port) =>
    startListening(
      process.execPath,
      [alternatives.mcpProxy, "--port", String(port), "--host", "127.0.0.1", "--", process.execPath, EVERYTHING, "stdio"],
      port,
    ),
  );

  // The original hard-codes "memory" at localhost:3100 (streamable HTTP) and keeps its files under HOME.
  const originalHome = mkdtempSync(join(tmpdir(), "msm-original-"));
  cleanups.push(() => rmSync(originalHome, { recursive: true, force: true }));
  mkdirSync(join(originalHome, ".mcp-session-manager"));
  const on3100 = await startListening(process.execPath, [EVERYTHING, "streamableHttp"], 3100, { ...process.env, PORT: "3100" });
  cleanups.push(() => stopGroup(on3100));
  const original: Setup = {
    label: `mcp-session-manager ${ALTERNATIVES["mcp-session-manager"]} (original) proxy -> HTTP server`,
    open: () => openStdio(process.execPath, [alternatives.originalProxy, "--target", "memory"], { ...process.env, HOME: originalHome }),
    stop: async () => {},
  };
  const direct: Setup = {
    label: "direct stdio (no sharing)",
    open: () => openStdio(process.execPath, [EVERYTHING, "stdio"]),
    stop: async () => {},
  };
  const directHttp: Setup = {
    label: "direct streamable HTTP (same server, no proxy)",
    open: () => openHttp(http.url),
    stop: async () => {},
    servingPids: () => [http.child.pid!],
  };
  original.servingPids = () => [on3100.pid!];
  return {
    stopOurDaemon: () => stopOurDaemon(home, "everything"),
    all: [direct, ours("everything"), directHttp, ours("everything-http"), supergateway, mcpProxy, original],
    cleanup: async () => {
      // Our daemons were started detached by the first proxies: stop them through their locks.
      await stopOurDaemon(home, "everything");
      await stopOurDaemon(home, "everything-http");
      for (const cleanup of cleanups.reverse()) cleanup();
    },
  };
}

async function timed(session: Session, count: number, into?: number[]): Promise<number> {
  let errors = 0;
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const answer = await session.call();
    if (answer.error || !answer.result) errors += 1;
    into?.push(performance.now() - start);
  }
  return errors;
}

/** `npm run bench -- --compare`: every alternative side by side, in one run, on this machine. */
export async function compareAlternatives(chartsDir: string): Promise<string> {
  const { all, cleanup, stopOurDaemon } = await setups();
  const out: string[] = [];
  try {
    // Sequential calls: one session each, rounds alternating between setups so drift hits all alike.
    const sessions = await Promise.all(all.map((setup) => setup.open()));
    for (const session of sessions) await timed(session, WARMUP);
    const times = all.map(() => [] as number[]);
    const errors = all.map(() => 0);
    for (let round = 0; round < SEQUENTIAL_ROUNDS; round++) {
      for (const [index, session] of sessions.entries()) errors[index]! += await timed(session, SEQUENTIAL_CALLS, times[index]);
    }
    for (const session of sessions) await session.close();
    const directMedian = median(times[0]!);
    out.push(
      `### Sequential echo calls (${SEQUENTIAL_ROUNDS} alternating rounds of ${SEQUENTIAL_CALLS} per setup, after ${WARMUP} warm-up calls)\n`,
    );
    out.push("| setup | median latency | vs direct | calls/s (one session) | errors |", "|---|---|---|---|---|");
    const sequentialRows: Array<[string, number]> = [];
    all.forEach((setup, index) => {
      const m = median(times[index]!);
      const total = times[index]!.reduce((sum, t) => sum + t, 0);
      sequentialRows.push([setup.label, m]);
      out.push(
        `| ${setup.label} | ${m.toFixed(3)} ms | ${(m / directMedian).toFixed(2)}x | ${((times[index]!.length / total) * 1000).toFixed(0)} | ${errors[index]} |`,
      );
    });
    writeFileSync(
      join(chartsDir, "compare-latency.svg"),
      barChart("Median latency of one echo call (lower is better)", "ms", sequentialRows),
    );

    // Ten sessions at once, each calling sequentially.
    out.push(`\n### ${SESSIONS} sessions at once (${CONCURRENT_CALLS} calls each, sequential within a session)\n`);
    out.push("| setup | total calls/s | errors | processes serving the sessions | their memory (PSS) |", "|---|---|---|---|---|");
    const concurrentRows: Array<[string, number]> = [];
    for (const setup of all) {
      const group = await Promise.all(Array.from({ length: SESSIONS }, () => setup.open()));
      await Promise.all(group.map((session) => timed(session, 20)));
      const started = performance.now();
      const failed = (await Promise.all(group.map((session) => timed(session, CONCURRENT_CALLS)))).reduce((a, b) => a + b, 0);
      const rate = ((SESSIONS * CONCURRENT_CALLS) / (performance.now() - started)) * 1000;
      // Everything but the benchmark's own clients: the processes the sessions spawned (servers or proxies)
      // and whatever serves them behind (daemons, bridges, their children).
      const serving = [...new Set([...group.flatMap((session) => (session.pid ? [session.pid] : [])), ...(setup.servingPids?.() ?? [])])];
      const memory = serving.reduce((sum, pid) => sum + (pssMiB(pid) ?? 0), 0);
      concurrentRows.push([setup.label, rate]);
      out.push(`| ${setup.label} | ${rate.toFixed(0)} | ${failed} | ${serving.length} | ${memory.toFixed(0)} MiB |`);
      for (const session of group) await session.close();
    }
    writeFileSync(
      join(chartsDir, "compare-throughput.svg"),
      barChart(`${SESSIONS} sessions at once: echo calls per second (higher is better)`, "calls/s", concurrentRows),
    );

    // Cold start: spawn (or connect) to initialize answered, with everything behind it already running.
    out.push(
      `\n### Session start: spawn or connect, to \`initialize\` answered (median of ${COLD_STARTS}, servers and daemons already up)\n`,
    );
    out.push("| setup | median |", "|---|---|");
    const startRows: Array<[string, number]> = [];
    for (const setup of all) {
      const starts: number[] = [];
      for (let i = 0; i < COLD_STARTS; i++) {
        const begin = performance.now();
        const session = await setup.open();
        starts.push(performance.now() - begin);
        await session.close();
      }
      startRows.push([setup.label, median(starts)]);
      out.push(`| ${setup.label} | ${median(starts).toFixed(0)} ms |`);
    }
    // The same for our daemon path with the daemon stopped before each start: the proxy starts it.
    const cold: number[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      await stopOurDaemon();
      const begin = performance.now();
      const session = await all[1]!.open();
      cold.push(performance.now() - begin);
      await session.close();
    }
    startRows.splice(2, 0, ["mcp-session-manager: proxy -> daemon -> stdio, daemon cold", median(cold)]);
    out.splice(
      out.length - all.length + 2,
      0,
      `| mcp-session-manager: proxy -> daemon -> stdio, daemon cold (the proxy starts it) | ${median(cold).toFixed(0)} ms |`,
    );
    writeFileSync(
      join(chartsDir, "compare-session-start.svg"),
      barChart("Session start to initialize answered (lower is better)", "ms", startRows),
    );
    out.push(await memoryTable(chartsDir));
  } finally {
    for (const setup of all) await setup.stop();
    await cleanup();
  }
  return out.join("\n");
}

/**
 * What N sessions of M servers cost in memory: direct (every session its own copy of every server) against
 * mcp-session-manager (a proxy per session and server, one daemon and one child per server). PSS, summed.
 */
async function memoryTable(chartsDir: string): Promise<string> {
  const servers = 3;
  const home = mkdtempSync(join(tmpdir(), "msm-memory-"));
  const names = Array.from({ length: servers }, (_, index) => `s${index + 1}`);
  writeFileSync(
    join(home, "config.json"),
    JSON.stringify({
      servers: Object.fromEntries(names.map((name) => [name, { command: process.execPath, args: [EVERYTHING, "stdio"] }])),
    }),
  );
  const env = { ...process.env, MCP_SESSION_MANAGER_HOME: home };
  const lines = [
    `\n### Memory of N sessions x ${servers} servers (PSS summed over every process involved)\n`,
    "| sessions | direct | through mcp-session-manager | ratio |",
    "|---|---|---|---|",
  ];
  const rows: Array<[string, number]> = [];
  try {
    for (const sessions of [1, 5, 10]) {
      const direct = await Promise.all(
        Array.from({ length: sessions * servers }, () => openStdio(process.execPath, [EVERYTHING, "stdio"])),
      );
      const directMiB = direct.reduce((sum, session) => sum + (pssMiB(session.pid!) ?? 0), 0);
      for (const session of direct) await session.close();
      const proxied: Session[] = [];
      for (let index = 0; index < sessions; index++) {
        proxied.push(...(await Promise.all(names.map((name) => openStdio(process.execPath, [PROXY, "--target", name], env)))));
      }
      const ownPids = new Set(proxied.map((session) => session.pid!));
      const behind = processesOfHome(home, ownPids);
      const oursMiB = [...ownPids, ...behind].reduce((sum, pid) => sum + (pssMiB(pid) ?? 0), 0);
      for (const session of proxied) await session.close();
      rows.push([`direct, ${sessions} x ${servers}`, directMiB], [`mcp-session-manager, ${sessions} x ${servers}`, oursMiB]);
      lines.push(
        `| ${sessions} | ${directMiB.toFixed(0)} MiB (${sessions * servers} servers) | ${oursMiB.toFixed(0)} MiB (${ownPids.size} proxies, ${behind.length} daemons and children) | ${(oursMiB / directMiB).toFixed(2)} |`,
      );
    }
  } finally {
    await Promise.all(names.map((name) => stopOurDaemon(home, name)));
    rmSync(home, { recursive: true, force: true });
  }
  writeFileSync(
    join(chartsDir, "compare-memory.svg"),
    barChart(`Memory of N sessions x ${servers} servers (lower is better)`, "MiB", rows),
  );
  return lines.join("\n");
}
