import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";

/** What `<home>/<name>.lock` records about a daemon: who it is and where it listens. */
export interface LockRecord {
  name: string;
  pid: number;
  /** The URL clients use; absent while the daemon is still being started. */
  url?: string;
  /** A Unix domain socket serving the same HTTP as `url`, for local clients (POSIX only). */
  socket?: string;
  /** Who wrote the lock (a proxy or the manager) and when. */
  startedBy: number;
  startedAt: string;
  command?: string;
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

/** Creates the lock only if none exists (O_EXCL): of many racing starters exactly one wins. */
export function claimLock(path: string, record: LockRecord): boolean {
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
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(record), { mode: 0o600 });
  renameSync(temp, path);
}

export function removeLock(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

/**
 * A process that exited but was never reaped still answers kill(pid, 0). In containers whose first process
 * does not reap orphans, a killed daemon stays like that: it must count as dead.
 */
function isZombie(pid: number): boolean {
  if (process.platform !== "linux") return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) === "Z";
  } catch {
    return false;
  }
}
