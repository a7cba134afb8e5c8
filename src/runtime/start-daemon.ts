import { homedir } from "node:os";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { ChildProcess } from "node:child_process";
import { lockPath, logPath } from "../config/paths.js";
import { portHeldHere, type ServerConfig } from "../config/server-config.js";
import { logTail } from "../logging/log-tail.js";
import { rotateLog, type LogRotation } from "../logging/rotate.js";
import { DaemonUnavailable, PortTaken, type RunningDaemon } from "./daemon-address.js";
import { DAEMON_NODE_FLAGS, daemonScript } from "./entry-points.js";
import { answers, findDaemon, runningFrom, startedWithoutDaemon } from "./find-daemon.js";
import { reapOrphanedChildren, stopDaemon } from "./stop-daemon.js";
import { ensureHomeToken } from "./home-token.js";
import {
  claimLock,
  isHolderAlive,
  lockChange,
  lockRecord,
  provenSessionSocket,
  readLock,
  removeLock,
  removeStaleLock,
  updateLock,
  type LockRecord,
} from "./lock-file.js";
import { isListening } from "./port-probe.js";
import { portInUse } from "../process/port-owner.js";
import { spawnDetached } from "./spawn-detached.js";
import { firstProjectEnv, handedChildEnv, keptEntryEnv } from "./kept-entry.js";
import { spawnFirstChild, type FirstChild } from "./first-child.js";

export interface LaunchOptions {
  home: string;
  configFile?: string;
  log: (line: string) => void;
  rotation?: LogRotation;
  /** The project of the session waiting for this daemon, when a proxy starts it. */
  firstProject?: string;
  /**
   * The caller proves the daemon on its session socket before telling it anything (a proxy: protocol version 2):
   * our daemon that listens on one of this user's is then not proven over HTTP here, and no credential is returned.
   */
  provenOnSessionSocket?: boolean;
}

const POLL_MS = 100;
/** How long a stopped leftover server may take to close its port. */
const LEFTOVER_EXIT_MS = 1000;

/**
 * Starts the server's daemon, or joins the start another process is making: of many starters (proxies, the
 * manager) exactly one claims the lock with O_EXCL and spawns; the others wait for its daemon to answer.
 * Stale locks (dead holder, recycled pid, a holder that never came up) are replaced; a stranger on the port
 * is reported, never used.
 */
export async function startDaemon(server: ServerConfig, options: LaunchOptions & { deadline: number }): Promise<RunningDaemon> {
  const { home, log } = options;
  const lockFile = lockPath(server.name, home);
  // Made before the daemon starts, so that it and every proxy waiting for it hold the same token.
  ensureHomeToken(home);
  let spawned: Spawned | undefined;

  while (Date.now() < options.deadline) {
    const lock = readLock(lockFile);
    if (lock && isHolderAlive(lock)) {
      const provenLater = options.provenOnSessionSocket && provenSessionSocket(lock) !== undefined;
      const answer = provenLater || (await answers(server, lock, home));
      if (answer) {
        spawned?.first?.taken();
        const found = runningFrom(lock, answer);
        return spawned?.child.pid === lock.pid ? { ...found, child: spawned.child } : found;
      }
      if (spawned?.exited) break;
      if (!spawned && startedWithoutDaemon(server, lock)) {
        log(`stopping the HTTP server an earlier version started without a daemon (pid ${lock.pid}): its daemon starts it now`);
        await stopDaemon(server, home, lock.pid);
        continue;
      }
      if (!spawned && lock.url && lock.pidStarted === undefined && process.platform !== "win32") {
        // Nothing says this pid is still the process that wrote the lock, and our daemon writes its URL only once
        // it listens: what is (or is not) there does not prove itself, so the lock is not a daemon's. (Windows
        // records no start times: there a lock is judged by its start-up deadline alone.)
        log(
          `replacing lock ${lockFile}: pid ${lock.pid} has no recorded start time and no daemon of this home proves itself at ${lock.url}`,
        );
        removeStaleLock(lockFile, lock);
        continue;
      }
      if (!spawned && neverCameUp(lock, server)) {
        log(`replacing lock ${lockFile}: pid ${lock.pid} did not bring the daemon up within ${server.startTimeoutMs} ms`);
        removeStaleLock(lockFile, lock);
        continue;
      }
      await lockChange(lockFile, POLL_MS); // its starter is still bringing it up: it rewrites the lock once it listens
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
    if (server.kind === "spawned") await freeLeftoverPort(server, home, log);
    if (await strangerOnPort(server, home, true)) throw portTaken(server);
    const claim = lockRecord({ name: server.name, pid: process.pid, startedBy: process.pid, startedAt: new Date().toISOString() });
    if (!claimLock(lockFile, claim)) continue; // another starter won the race: wait for its daemon
    spawned = spawn(server, options, lockFile, claim);
  }

  // The daemon is gone without taking the server started for it; one still starting takes it, or stops it if it fails.
  if (spawned?.exited) spawned.first?.discard();
  else spawned?.first?.taken();
  // A stranger may have taken the port between our look and the daemon's bind: then that is what to say.
  if (spawned?.exited && (await strangerOnPort(server, home))) throw portTaken(server);
  const logFile = logPath(server.name, home);
  const reason = spawned?.exited ?? `it did not answer within ${server.startTimeoutMs} ms`;
  throw new DaemonUnavailable(`daemon "${server.name}" is not available: ${reason}; see ${logFile}${logTail(logFile)}`);
}

/**
 * Whether something listens on the server's configured port that does not prove to be its daemon of this home.
 * `searched`: findDaemon has just found none, so whatever listens is a stranger without asking it again.
 */
async function strangerOnPort(server: ServerConfig, home: string, searched = false): Promise<boolean> {
  const held = portHeldHere(server);
  if (!held || !(await isListening(new URL(held.url)))) return false;
  return searched || !(await findDaemon(server, home));
}

/**
 * An HTTP server whose daemon was killed outright may still hold its port: what the gone daemon's list of children
 * names is stopped, and its port given a moment to close, so that it is not taken for a stranger's.
 */
async function freeLeftoverPort(server: ServerConfig, home: string, log: (line: string) => void): Promise<void> {
  reapOrphanedChildren(server.name, home, log);
  const deadline = Date.now() + LEFTOVER_EXIT_MS;
  const held = portHeldHere(server);
  while (held && Date.now() < deadline && (await isListening(new URL(held.url), 200))) await sleep(20);
}

function portTaken(server: ServerConfig): PortTaken {
  const expected =
    server.kind === "spawned" ? `a server this home's "${server.name}" daemon started` : `this home's "${server.name}" daemon`;
  return new PortTaken(portInUse(server.port!, expected, server.name));
}

interface Spawned {
  child: ChildProcess;
  exited?: string;
  /** The server process spawned ahead for the daemon, if any. */
  first?: FirstChild;
}

function spawn(server: ServerConfig, options: LaunchOptions, lockFile: string, claim: LockRecord): Spawned | undefined {
  const spec = launchSpec(server, options.configFile);
  options.log(`starting daemon "${server.name}": ${[spec.command, ...spec.args].join(" ")}`);
  const logFile = logPath(server.name, options.home);
  if (options.rotation) rotateLog(logFile, options.rotation);
  let child: ChildProcess;
  const first = spawnFirstChild(server, options.firstProject, options.home);
  if (first) options.log(`started the server's first process (pid ${first.handed.pid}) ahead of its daemon, which takes it over`);
  try {
    const handed = {
      ...keptEntryEnv(server),
      ...firstProjectEnv(server, options.firstProject),
      ...(first ? handedChildEnv(first.handed) : {}),
    };
    child = spawnDetached({ ...spec, env: { ...server.env, ...handed }, logFile, ...(first ? { handOver: first.streams } : {}) });
  } catch (error) {
    first?.discard();
    removeLock(lockFile);
    throw new DaemonUnavailable(`daemon "${server.name}" could not be started: ${(error as Error).message}`);
  }
  first?.handedOver();
  const spawned: Spawned = first ? { child, first } : { child };
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
    // Our daemon may already have rewritten the lock with its URL: only replace the claim itself.
    if (readLock(lockFile)?.pid === claim.pid) updateLock(lockFile, update);
  }
  return spawned;
}

/** Every server that runs here is served by `mcp-manager daemon NAME`, which starts an HTTP server itself. */
function launchSpec(server: ServerConfig, configFile?: string): { command: string; args: string[]; cwd: string } {
  const args = [...DAEMON_NODE_FLAGS, daemonScript(), ...(configFile ? ["--config", configFile] : []), server.name];
  return { command: process.execPath, args, cwd: homedir() };
}

/** A live holder that has not answered long after its start time is not bringing a daemon up (a recycled pid). */
function neverCameUp(lock: LockRecord, server: ServerConfig): boolean {
  const since = Date.parse(lock.startedAt);
  return Number.isFinite(since) && Date.now() - since > server.startTimeoutMs + 5000 && !lock.url;
}
