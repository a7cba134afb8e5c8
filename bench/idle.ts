import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { StdioClient } from "./clients.js";
import { EVERYTHING, PROXY } from "./everything-server.js";
import { ourDaemonPid, stopOurDaemon } from "./our-daemon.js";
import { cpuMs, mib, processMemory, type ProcessMemory } from "./stats.js";

/**
 * Long enough for two of a daemon's housekeeping rounds (every 10 s): one that sees the last calls, one that does
 * not and so collects (its one collection after calls is then behind it).
 */
const TWO_ROUNDS_MS = 25_000;
const WATCHED_MS = 30_000;
const SESSIONS = 10;
const WARMUP_CALLS = 300;
const CALLS = 1000;

/** Voluntary context switches of every thread of a process: how often it was woken to do something. */
function wakeUps(pid: number): number {
  let total = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${thread}/status`, "utf8");
    total += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return total;
}

const residentPrivate = (memory: ProcessMemory) => `${mib(memory.rss)} / ${mib(memory.own)}`;

/**
 * What sessions cost while nobody calls anything:
 * - one session to server-everything open, after a call and 25 s of rest, watched for 30 s: how often the proxy
 *   and the daemon wake, and the CPU they use;
 * - the built-in memory server's daemon after a burst of calls from 10 sessions, and 25 s after the last call:
 *   what it keeps at rest.
 */
export async function idleCost(): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "msm-bench-idle-"));
  const project = join(home, "project");
  mkdirSync(project);
  writeFileSync(
    join(home, "config.json"),
    JSON.stringify({
      servers: { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] }, memory: { builtin: "memory" } },
    }),
  );
  const env = { ...process.env, MCP_SESSION_MANAGER_HOME: home, CLAUDE_PROJECT_DIR: project };
  const clients: StdioClient[] = [];
  try {
    const session = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
    clients.push(session);
    await session.initialize();
    await session.call("tools/call", { name: "echo", arguments: { message: "benchmark" } });
    await sleep(TWO_ROUNDS_MS);
    const watched = { proxy: session.child.pid!, daemon: ourDaemonPid(home, "everything") };
    const before = { proxy: [wakeUps(watched.proxy), cpuMs(watched.proxy)], daemon: [wakeUps(watched.daemon), cpuMs(watched.daemon)] };
    await sleep(WATCHED_MS);
    const perMinute = (what: "proxy" | "daemon") => {
      const pid = watched[what];
      const [wakes, cpu] = before[what] as [number, number];
      const scale = 60_000 / WATCHED_MS;
      return `${((wakeUps(pid) - wakes) * scale).toFixed(0)} wake-ups, ${((cpuMs(pid) - cpu) * scale).toFixed(0)} ms CPU`;
    };
    const idleProxy = perMinute("proxy");
    const idleDaemon = perMinute("daemon");

    const sessions = Array.from({ length: SESSIONS }, () => new StdioClient(process.execPath, [PROXY, "--target", "memory"], env));
    clients.push(...sessions);
    await Promise.all(sessions.map((client) => client.initialize()));
    const search = (client: StdioClient, i: number) =>
      client.call("tools/call", { name: "search_nodes", arguments: { query: `entity ${i}` } });
    for (const count of [WARMUP_CALLS, CALLS]) {
      await Promise.all(
        sessions.map(async (client) => {
          for (let i = 0; i < count; i++) await search(client, i);
        }),
      );
    }
    const memoryDaemon = ourDaemonPid(home, "memory");
    const busy = processMemory(memoryDaemon);
    await sleep(TWO_ROUNDS_MS);
    const rested = processMemory(memoryDaemon);

    return [
      `### Idle cost (one session open; then ${SESSIONS} sessions' burst of calls)`,
      "",
      "| what | measured |",
      "|---|---|",
      `| mcp-proxy, session open, nothing called (per minute, over ${WATCHED_MS / 1000} s after ${TWO_ROUNDS_MS / 1000} s of rest) | ${idleProxy} |`,
      `| its daemon (server-everything's), the same minute | ${idleDaemon} |`,
      `| the built-in memory server's daemon after ${SESSIONS * (WARMUP_CALLS + CALLS)} \`search_nodes\` calls from ${SESSIONS} sessions, resident / private | ${residentPrivate(busy)} |`,
      `| the same daemon ${TWO_ROUNDS_MS / 1000} s after the last call | ${residentPrivate(rested)} |`,
    ].join("\n");
  } finally {
    for (const client of clients) await client.close();
    await stopOurDaemon(home, "everything");
    await stopOurDaemon(home, "memory");
    rmSync(home, { recursive: true, force: true });
  }
}
