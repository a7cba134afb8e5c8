import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * When a process started, as the system tells it: field 22 of /proc/PID/stat on Linux, `ps -o lstart=`
 * elsewhere. A pid the system recycled for another process has another start time, so a pid plus its start
 * time names one process for good.
 */
export function processStarted(pid: number): string | undefined {
  if (process.platform === "win32" || !Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    if (process.platform === "linux") {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    }
    return execFileSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** True while the process runs (zombies count as gone). */
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

/** True when `pid` still names the process that started at `started` (unknown start times are trusted). */
export function isSameProcess(pid: number, started: string | undefined): boolean {
  if (!isProcessAlive(pid)) return false;
  if (started === undefined) return true;
  const now = processStarted(pid);
  return now === undefined || now === started;
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
