import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ServerConfig } from "../config/schema.js";
import { lockPath, logPath } from "../config/paths.js";
import { claimLock, isProcessAlive, readLock, removeLock, updateLock, type LockRecord } from "../manager/lock-file.js";
import { isListening } from "../manager/port-probe.js";
import { spawnDetached } from "../manager/spawn-detached.js";

/** The daemon could not be found or started; the message says why and where to look. */
export class DaemonUnavailable extends Error {
  override name = "DaemonUnavailable";
}

const POLL_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where a proxy connects: a daemon it may start (from the config), or a fixed URL it only waits for. */
export type DaemonTarget =
  | { kind: "url"; url: URL; startTimeoutMs: number }
  | { kind: "configured"; server: ServerConfig; home: string; configFile?: string };

/**
 * Makes sure the target's daemon answers and returns its URL.
 * Order: the lock file's daemon (a live pid whose URL answers) -> start it ourselves, claiming the lock
 * exclusively so that of many proxies starting at once only one spawns. A process on the port with no live
 * lock is not ours and is reported, never used.
 */
/** Where the daemon answers: its URL, and a Unix socket serving the same when it has one. */
export interface DaemonAddress {
  url: URL;
  socketPath?: string;
}

export async function ensureDaemon(target: DaemonTarget, log: (line: string) => void): Promise<DaemonAddress> {
  if (target.kind === "url") return { url: await waitForUrl(target.url, target.startTimeoutMs) };
  const { server, home } = target;
  if (!server.command && !server.builtin && server.url) {
    return { url: await waitForUrl(new URL(server.url), server.startTimeoutMs) }; // a remote server: nothing to start
  }

  const lockFile = lockPath(server.name, home);
  const deadline = Date.now() + server.startTimeoutMs;
  let starting: { exited?: string } | undefined;

  while (Date.now() < deadline) {
    const lock = readLock(lockFile);
    if (lock && isProcessAlive(lock.pid)) {
      if (lock.url && (await isListening(new URL(lock.url)))) {
        return lock.socket ? { url: new URL(lock.url), socketPath: lock.socket } : { url: new URL(lock.url) };
      }
      if (starting?.exited) break;
      await sleep(POLL_MS); // its starter is still bringing it up
      continue;
    }
    if (starting?.exited) break;
    if (lock) {
      log(`removing stale lock ${lockFile} (pid ${lock.pid} is not running)`);
      removeLock(lockFile);
    }
    if (server.url && (await isListening(new URL(server.url)))) {
      throw new DaemonUnavailable(
        `port ${server.port} is in use by a process that is not the "${server.name}" daemon (no live lock in ${lockFile}); ` +
          `stop that process or change "port" for "${server.name}" in the config`,
      );
    }
    const record: LockRecord = { name: server.name, pid: process.pid, startedBy: process.pid, startedAt: new Date().toISOString() };
    if (!claimLock(lockFile, record)) continue; // another starter won the race: wait for its daemon
    starting = start(target, lockFile, record, log);
  }

  const logFile = logPath(server.name, home);
  const reason = starting?.exited ?? `it did not answer within ${server.startTimeoutMs} ms`;
  throw new DaemonUnavailable(`daemon "${server.name}" is not available: ${reason}; see ${logFile}${logTail(logFile)}`);
}

function start(
  target: Extract<DaemonTarget, { kind: "configured" }>,
  lockFile: string,
  record: LockRecord,
  log: (line: string) => void,
): { exited?: string } {
  const { server, home } = target;
  const state: { exited?: string } = {};
  const spec = launchSpec(server, target.configFile);
  log(`starting daemon "${server.name}": ${[spec.command, ...spec.args].join(" ")}`);
  try {
    const child = spawnDetached({ ...spec, env: server.env, logFile: logPath(server.name, home) });
    child.once("error", (error) => {
      state.exited = `it could not be started (${error.message})`;
      removeLock(lockFile);
    });
    child.once("exit", (code, signal) => {
      state.exited = `it exited during start-up (${signal ?? `code ${code}`})`;
      if (readLock(lockFile)?.pid === child.pid) removeLock(lockFile);
    });
    if (child.pid !== undefined) {
      const update: LockRecord = { ...record, pid: child.pid, command: spec.command };
      // HTTP servers listen where the config says; our own daemon records its URL itself once listening.
      if (server.transport !== "stdio" && !server.builtin && server.url) update.url = server.url;
      updateLock(lockFile, update);
    }
  } catch (error) {
    removeLock(lockFile);
    state.exited = `it could not be started (${(error as Error).message})`;
  }
  return state;
}

/** HTTP servers run their own command; stdio and built-in servers are hosted by `mcp-manager daemon NAME`. */
function launchSpec(server: ServerConfig, configFile?: string): { command: string; args: string[]; cwd?: string } {
  if (server.command && server.transport !== "stdio") {
    return { command: server.command, args: server.args, ...(server.cwd ? { cwd: server.cwd } : {}) };
  }
  const manager = fileURLToPath(new URL("../manager/index.js", import.meta.url));
  return { command: process.execPath, args: [manager, ...(configFile ? ["--config", configFile] : []), "daemon", server.name] };
}

async function waitForUrl(url: URL, timeoutMs: number): Promise<URL> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isListening(url)) return url;
    if (Date.now() >= deadline) throw new DaemonUnavailable(`nothing answers at ${url.origin} (waited ${timeoutMs} ms)`);
    await sleep(POLL_MS);
  }
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").trimEnd().split("\n").slice(-3);
    return lines.length && lines[0] ? `; its last lines: ${lines.join(" | ").slice(0, 600)}` : "";
  } catch {
    return "";
  }
}
