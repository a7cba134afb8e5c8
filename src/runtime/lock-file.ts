import { linkSync, readFileSync, statSync, unlinkSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { isOwnSocket } from "../files/own-socket.js";
import { replaceFile, temporaryPath } from "../files/replace-file.js";
import { PROVEN_SESSION_SOCKET_PROTOCOL } from "../protocol/session-socket.js";
import { isSameProcess, processStarted } from "../process/process-identity.js";

/** What `<home>/<name>.lock` records about a daemon: who it is and where it listens. */
export interface LockRecord {
  name: string;
  pid: number;
  /** The start time of `pid` (see process-identity): a recycled pid is not mistaken for the holder. */
  pidStarted?: string;
  /** The URL clients use; absent while the daemon is still being started. */
  url?: string;
  /** A Unix domain socket serving the same HTTP as `url`, for local clients (POSIX only). */
  socket?: string;
  /** The daemon's session socket (protocol/session-socket.ts), which our proxies prefer (POSIX only). */
  sessionSocket?: string;
  /** The newest protocol its session socket speaks; daemons that record none speak the first only. */
  sessionProtocol?: string;
  /** Who started the daemon (a proxy or the manager) and when. */
  startedBy: number;
  startedAt: string;
  command?: string;
}

/** A lock record for `pid`, stamped with its start time. */
export function lockRecord(fields: Omit<LockRecord, "pidStarted">): LockRecord {
  const started = processStarted(fields.pid);
  return started === undefined ? { ...fields } : { ...fields, pidStarted: started };
}

export function readLock(path: string): LockRecord | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const record = JSON.parse(text) as Partial<LockRecord>;
    if (typeof record.pid === "number" && typeof record.name === "string") return record as LockRecord;
  } catch {
    // fall through: a torn or foreign file is as good as no lock, and is replaced
  }
  return { name: "", pid: 0, startedBy: 0, startedAt: "" };
}

/**
 * The session socket a lock names when our daemon listens there in the protocol where it proves itself on it
 * (version 2), and the socket is this user's: then it is proven there, not over HTTP.
 */
export function provenSessionSocket(lock: LockRecord): string | undefined {
  const socket = lock.sessionSocket;
  const proves = socket !== undefined && lock.url !== undefined && lock.sessionProtocol === PROVEN_SESSION_SOCKET_PROTOCOL;
  return proves && isOwnSocket(socket) ? socket : undefined;
}

/** True while the process the lock names is the one that wrote it (not dead, not a recycled pid). */
export function isHolderAlive(lock: LockRecord): boolean {
  return isSameProcess(lock.pid, lock.pidStarted);
}

/**
 * Creates the lock only if none exists: of many racing starters exactly one wins. The record is written aside
 * and linked into place whole, so no reader sees an empty or half-written lock and judges it torn; where links
 * are not supported, it is created with O_EXCL and written.
 */
export function claimLock(path: string, record: LockRecord): boolean {
  const staged = temporaryPath(path);
  try {
    writeFileSync(staged, JSON.stringify(record), { mode: 0o600 }); // over any left by a killed process of our pid
    linkSync(staged, path);
    return true;
  } catch (error) {
    // Links unsupported (FAT, some network shares: the codes vary): the lock is made in place below.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
  } finally {
    try {
      unlinkSync(staged);
    } catch {
      // never written
    }
  }
  try {
    writeFileSync(path, JSON.stringify(record), { flag: "wx", mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** Replaces the contents of a lock we hold, atomically (readers never see a half-written file). */
export function updateLock(path: string, record: LockRecord): void {
  replaceFile(path, JSON.stringify(record));
}

export function removeLock(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** A breaker that died holding the guard (it holds it for microseconds) is presumed gone after this. */
const GUARD_STALE_MS = 5000;

/**
 * Removes a stale lock, but only the one the caller saw. "Read, then unlink" alone is a race: between the two,
 * another starter may have replaced the stale lock with its own fresh claim, which would then be deleted and
 * let two daemons start. Breakers therefore take a guard file exclusively and re-read the lock under it.
 * Afterwards every starter tries `claimLock` again, and exactly one wins.
 */
export function removeStaleLock(path: string, seen: LockRecord): void {
  const guard = `${path}.break`;
  if (!claimLock(guard, { name: "", pid: process.pid, startedBy: process.pid, startedAt: new Date().toISOString() })) {
    try {
      if (Date.now() - statSync(guard).mtimeMs > GUARD_STALE_MS) removeLock(guard);
    } catch {
      // released meanwhile
    }
    return;
  }
  try {
    const current = readLock(path);
    if (current && sameRecord(current, seen)) removeLock(path);
  } finally {
    removeLock(guard);
  }
}

function sameRecord(a: LockRecord, b: LockRecord): boolean {
  return a.pid === b.pid && a.startedAt === b.startedAt && a.pidStarted === b.pidStarted && a.url === b.url;
}

/**
 * Resolves when the lock file at `path` is written, replaced or removed, and after `ms` at most: a starter waiting
 * for its daemon learns at once that it listens (it rewrites its lock then), and a watch that misses a change or
 * cannot be set up costs no more than looking again later.
 */
export function lockChange(path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(dirname(path), (_event, file) => {
        if (file === basename(path)) done();
      });
      watcher.on("error", done);
    } catch {
      // no watch (out of inotify watches, say): the timer alone
    }
  });
}
