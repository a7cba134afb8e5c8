import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { EVERYTHING, PROBE_SERVER } from "./paths.js";
import { onCleanup } from "./cleanup.js";
import { freePort, isAlive, killTree, processesOfHome } from "./processes.js";

export interface DaemonHome {
  home: string;
  env: NodeJS.ProcessEnv;
  /** What `<home>/<name>.lock` records, if it exists. */
  lock(name: string): LockFields | undefined;
  /** The pid in `<home>/<name>.lock`, if any. */
  lockedPid(name: string): number | undefined;
  /** The daemon URL in `<home>/<name>.lock`, if any. */
  lockedUrl(name: string): string | undefined;
  /** Extra pids (children seen through a probe) to kill after the test. */
  track(pid: number): void;
  /** The home's token (manager.token), which hand-made clients send as a bearer. */
  token(): string;
}

export interface LockFields {
  pid?: number;
  url?: string;
  socket?: string;
  sessionSocket?: string;
}

/**
 * How proxies reach our daemons: through the session socket, or (where a daemon has no Unix sockets: on Windows,
 * or in a home whose path is too long for one) through streamable HTTP.
 */
export type Route = "session socket" | "HTTP";

/**
 * A temporary manager home with `servers` (and top-level `settings`, such as `manager`) as its config. After the
 * test, pass or fail, every daemon its lock files ever named is stopped (SIGTERM, so it stops its children's
 * process groups; then SIGKILL), then the home is removed. With `route: "HTTP"` the home's path is too long for
 * a Unix socket, so its daemons serve proxies over HTTP only.
 */
export function configuredHome(
  t: TestContext,
  servers: Record<string, unknown>,
  settings: Record<string, unknown> = {},
  options: { route?: Route } = {},
): DaemonHome {
  const top = mkdtempSync(join(tmpdir(), "msm-home-"));
  const home = options.route === "HTTP" ? join(top, "a-home-path-longer-than-any-unix-socket-path-may-be".repeat(2)) : top;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "config.json"), JSON.stringify({ ...settings, servers }, null, 2));
  const seen = new Set<number>();
  const lock = (name: string) => {
    try {
      const record = JSON.parse(readFileSync(join(home, `${name}.lock`), "utf8")) as LockFields;
      if (record.pid) seen.add(record.pid);
      return record;
    } catch {
      return undefined;
    }
  };
  // The lock files name the daemons to stop, so read them before removing the home. This runs after the
  // proxies made later are gone: a live proxy would start a new daemon when it sees its daemon stop.
  onCleanup(t, async () => {
    // Every lock in the home, not only the configured names: servers can be added during a test (install).
    for (const file of readdirSync(home)) if (file.endsWith(".lock") && file !== "manager.lock") lock(file.slice(0, -5));
    for (const pid of seen) killTree(pid, "SIGTERM");
    const deadline = Date.now() + 5000;
    while ([...seen].some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const pid of seen) killTree(pid, "SIGKILL");
    // A daemon no lock names yet: one a proxy spawned just before it was ended (its claim names the proxy).
    const sweepUntil = Date.now() + 2000;
    for (let left = processesOfHome(home); left.length > 0 && Date.now() < sweepUntil; left = processesOfHome(home)) {
      for (const pid of left) killTree(pid, "SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    rmSync(top, { recursive: true, force: true, maxRetries: 5 });
  });
  return {
    home,
    env: { ...process.env, MCP_SESSION_MANAGER_HOME: home },
    lock,
    lockedPid: (name) => lock(name)?.pid,
    lockedUrl: (name) => lock(name)?.url,
    track: (pid) => seen.add(pid),
    token: () => readFileSync(join(home, "manager.token"), "utf8").trim(),
  };
}

/**
 * server-everything as the HTTP server "everything" (started by its daemon when a session needs it), in `mode`,
 * plus `extra` servers.
 */
export async function everythingHome(
  t: TestContext,
  extra: Record<string, unknown> = {},
  mode: "streamableHttp" | "sse" = "streamableHttp",
) {
  const port = await freePort();
  const daemon = configuredHome(t, {
    everything: {
      command: process.execPath,
      args: [EVERYTHING, mode],
      env: { PORT: String(port) },
      transport: mode === "sse" ? "sse" : "streamable-http",
      port,
    },
    ...extra,
  });
  return { ...daemon, port, lockedPid: (name = "everything") => daemon.lockedPid(name) };
}

/** The stdio probe fixture as a stdio server hosted by our daemon. */
export function probeServer(options: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [PROBE_SERVER], ...options };
}

/**
 * The daemon's log line for a child started ahead of the first session: by the daemon itself, or by the daemon's
 * starter and taken over (runtime/first-child.ts).
 */
export const spareStarted = (pid: number): RegExp =>
  new RegExp(
    `started spare child pid ${pid} ahead of the first session|took child pid ${pid}, started ahead by this daemon's starter, as the spare`,
  );

/** Parent, process group and session of a pid, from /proc (Linux). */
export function processGroupOf(pid: number): { ppid: number; pgid: number; sid: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]) };
}
