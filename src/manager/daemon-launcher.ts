import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import type { ServerConfig } from "../config/schema.js";
import { lockPath, logPath } from "../config/paths.js";
import { ChildRegistry } from "../daemon/child-registry.js";
import { isSameProcess, processStarted, signalGroup } from "../process/process-identity.js";
import { rotateLog, type LogRotation } from "../logging/rotate.js";
import { probeDaemon } from "./daemon-health.js";
import { claimLock, isHolderAlive, lockRecord, readLock, removeLock, removeStaleLock, updateLock, type LockRecord } from "./lock-file.js";
import { isListening } from "./port-probe.js";
import { spawnDetached } from "./spawn-detached.js";

/** The daemon could not be found or started; the message says why and where to look. */
export class DaemonUnavailable extends Error {
  override name = "DaemonUnavailable";
}

/** Where a daemon answers: its URL, a Unix socket serving the same HTTP, and its session socket, when it has them. */
export interface DaemonAddress {
  url: URL;
  socketPath?: string;
  sessionSocket?: string;
}

/** How an address is written down: in a lock file, and in the manager's answers. */
export interface AddressFields {
  url: string;
  socket?: string;
  sessionSocket?: string;
}

export function addressFields(address: DaemonAddress): AddressFields {
  const fields: AddressFields = { url: address.url.href };
  if (address.socketPath) fields.socket = address.socketPath;
  if (address.sessionSocket) fields.sessionSocket = address.sessionSocket;
  return fields;
}

export function addressFrom(fields: AddressFields): DaemonAddress {
  const address: DaemonAddress = { url: new URL(fields.url) };
  if (typeof fields.socket === "string") address.socketPath = fields.socket;
  if (typeof fields.sessionSocket === "string") address.sessionSocket = fields.sessionSocket;
  return address;
}

export interface RunningDaemon {
  address: DaemonAddress;
  pid: number;
  /** The start time of `pid`, when known: a recycled pid is not mistaken for the daemon. */
  pidStarted?: string;
  /** Set when this process spawned the daemon (its exit is then reported to us directly). */
  child?: ChildProcess;
}

export interface LaunchOptions {
  home: string;
  configFile?: string;
  log: (line: string) => void;
  rotation?: LogRotation;
}

const POLL_MS = 100;

/** Stdio and built-in servers are hosted by our own daemon; the others are HTTP servers we only start. */
export const hostedByUs = (server: ServerConfig) => Boolean(server.builtin) || server.transport === "stdio";
/** A server given by URL alone runs elsewhere: nothing to start or stop. */
export const isRemote = (server: ServerConfig) => !server.command && !server.builtin;
/** What `--start-all`, `/start-all` and `stop --all` act on: every server that runs here and is not disabled. */
export const isStartable = (server: ServerConfig) => !isRemote(server) && !server.disabled;

/**
 * The server's daemon when it runs and is ours: the lock's live holder answering at the lock's URL (our daemon
 * must also name itself in `/health`), or our daemon on the configured port whose lock file was removed by hand.
 */
export async function findDaemon(server: ServerConfig, home: string): Promise<RunningDaemon | undefined> {
  const lock = readLock(lockPath(server.name, home));
  if (lock?.url && isHolderAlive(lock) && (await answers(server, lock.url, lock.pid))) return running(lock);
  if (hostedByUs(server) && server.url) {
    const health = await probeDaemon(new URL(server.url), server.name);
    if (health) {
      const started = processStarted(health.pid);
      const address = { url: new URL(server.url) };
      return started === undefined ? { address, pid: health.pid } : { address, pid: health.pid, pidStarted: started };
    }
  }
  return undefined;
}

/**
 * Starts the server's daemon, or joins the start another process is making: of many starters (proxies, the
 * manager) exactly one claims the lock with O_EXCL and spawns; the others wait for its daemon to answer.
 * Stale locks (dead holder, recycled pid, a holder that never came up) are replaced; a stranger on the port
 * is reported, never used.
 */
export async function startDaemon(server: ServerConfig, options: LaunchOptions & { deadline: number }): Promise<RunningDaemon> {
  const { home, log } = options;
  const lockFile = lockPath(server.name, home);
  let spawned: Spawned | undefined;

  while (Date.now() < options.deadline) {
    const lock = readLock(lockFile);
    if (lock && isHolderAlive(lock)) {
      if (lock.url && (await answers(server, lock.url, lock.pid))) {
        const found = running(lock);
        return spawned?.child.pid === lock.pid ? { ...found, child: spawned.child } : found;
      }
      if (spawned?.exited) break;
      if (!spawned && neverCameUp(lock, server)) {
        log(`replacing lock ${lockFile}: pid ${lock.pid} did not bring the daemon up within ${server.startTimeoutMs} ms`);
        removeStaleLock(lockFile, lock);
        continue;
      }
      await sleep(POLL_MS); // its starter is still bringing it up
      continue;
    }
    if (spawned?.exited) break;
    if (spawned && lock?.pid === spawned.child.pid) {
      // What we spawned is dead but Node has not reported its exit yet: wait for that, never spawn it twice.
      await once(spawned.child, "exit");
      break;
    }
    if (lock) {
      log(`replacing stale lock ${lockFile} (pid ${lock.pid} is not running)`);
      removeStaleLock(lockFile, lock);
      continue;
    }
    const unlocked = await findDaemon(server, home);
    if (unlocked) return unlocked;
    if (server.url && (await isListening(new URL(server.url)))) {
      throw new DaemonUnavailable(
        `port ${server.port} is in use by a process that is not the "${server.name}" daemon (no live lock in ${lockFile}); ` +
          `stop that process or change "port" for "${server.name}" in the config`,
      );
    }
    const claim = lockRecord({ name: server.name, pid: process.pid, startedBy: process.pid, startedAt: new Date().toISOString() });
    if (!claimLock(lockFile, claim)) continue; // another starter won the race: wait for its daemon
    spawned = spawn(server, options, lockFile, claim);
  }

  const logFile = logPath(server.name, home);
  const reason = spawned?.exited ?? `it did not answer within ${server.startTimeoutMs} ms`;
  throw new DaemonUnavailable(`daemon "${server.name}" is not available: ${reason}; see ${logFile}${logTail(logFile)}`);
}

interface Spawned {
  child: ChildProcess;
  exited?: string;
}

function spawn(server: ServerConfig, options: LaunchOptions, lockFile: string, claim: LockRecord): Spawned | undefined {
  const spec = launchSpec(server, options.configFile);
  options.log(`starting daemon "${server.name}": ${[spec.command, ...spec.args].join(" ")}`);
  const logFile = logPath(server.name, options.home);
  if (options.rotation) rotateLog(logFile, options.rotation);
  let child: ChildProcess;
  try {
    child = spawnDetached({ ...spec, env: server.env, logFile });
  } catch (error) {
    removeLock(lockFile);
    throw new DaemonUnavailable(`daemon "${server.name}" could not be started: ${(error as Error).message}`);
  }
  const spawned: Spawned = { child };
  child.once("error", (error) => {
    spawned.exited = `it could not be started (${error.message})`;
    if (readLock(lockFile)?.pid === claim.pid) removeLock(lockFile);
  });
  child.once("exit", (code, signal) => {
    spawned.exited ??= `it exited during start-up (${signal ?? `code ${code}`})`;
    if (readLock(lockFile)?.pid === child.pid) removeLock(lockFile);
  });
  if (child.pid !== undefined) {
    const update = lockRecord({ ...claim, pid: child.pid, command: spec.command });
    // HTTP servers listen where the config says; our own daemon records its URL itself once listening.
    if (!hostedByUs(server) && server.url) update.url = server.url;
    // Our daemon may already have rewritten the lock with its URL: only replace the claim itself.
    if (readLock(lockFile)?.pid === claim.pid) updateLock(lockFile, update);
  }
  return spawned;
}

/** HTTP servers run their own command; stdio and built-in servers are hosted by `mcp-manager daemon NAME`. */
function launchSpec(server: ServerConfig, configFile?: string): { command: string; args: string[]; cwd?: string } {
  if (!hostedByUs(server) && server.command) {
    return { command: server.command, args: server.args, ...(server.cwd ? { cwd: server.cwd } : {}) };
  }
  const manager = fileURLToPath(new URL("./index.js", import.meta.url));
  return { command: process.execPath, args: [manager, ...(configFile ? ["--config", configFile] : []), "daemon", server.name] };
}

/**
 * Stops a daemon: SIGTERM (our daemon then stops its children; an HTTP server gets it with its whole group),
 * then SIGKILL to the group after `graceMs`, and the children a killed daemon of ours left are stopped too.
 * Resolves once the process is gone.
 */
export async function stopDaemon(server: ServerConfig, home: string, pid: number, graceMs = 5000): Promise<void> {
  const lock = readLock(lockPath(server.name, home));
  const started = lock?.pid === pid ? lock.pidStarted : undefined;
  if (hostedByUs(server)) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  } else {
    signalGroup(pid, "SIGTERM");
  }
  const deadline = Date.now() + graceMs;
  while (isSameProcess(pid, started) && Date.now() < deadline) await sleep(50);
  if (isSameProcess(pid, started)) {
    signalGroup(pid, "SIGKILL");
    while (isSameProcess(pid, started)) await sleep(20);
  }
  if (hostedByUs(server)) new ChildRegistry(join(home, `${server.name}.children`), () => {}).reapLeftovers();
  else signalGroup(pid, "SIGKILL"); // whatever the server left in its group
  const after = readLock(lockPath(server.name, home));
  if (after?.pid === pid) removeLock(lockPath(server.name, home));
}

async function answers(server: ServerConfig, url: string, pid: number): Promise<boolean> {
  if (hostedByUs(server)) return (await probeDaemon(new URL(url), server.name, pid)) !== undefined;
  return isListening(new URL(url));
}

function running(lock: LockRecord): RunningDaemon {
  const address = addressFrom({ ...lock, url: lock.url! });
  return lock.pidStarted === undefined ? { address, pid: lock.pid } : { address, pid: lock.pid, pidStarted: lock.pidStarted };
}

/** A live holder that has not answered long after its start time is not bringing a daemon up (a recycled pid). */
function neverCameUp(lock: LockRecord, server: ServerConfig): boolean {
  const since = Date.parse(lock.startedAt);
  return Number.isFinite(since) && Date.now() - since > server.startTimeoutMs + 5000 && !lock.url;
}

/** The last lines of a log, for error messages (read from its end: logs grow to megabytes). */
export function logTail(file: string): string {
  try {
    const size = statSync(file).size;
    if (size === 0) return "";
    const fd = openSync(file, "r");
    const buffer = Buffer.alloc(Math.min(size, 4096));
    try {
      readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    } finally {
      closeSync(fd);
    }
    const lines = buffer.toString("utf8").trimEnd().split("\n").slice(-3);
    return lines.length && lines[0] ? `; its last lines: ${lines.join(" | ").slice(0, 600)}` : "";
  } catch {
    return "";
  }
}
