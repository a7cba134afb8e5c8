import type * as ChildProcesses from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** What `ps` prints for a pid; node:child_process loads only here, so a proxy on Linux (/proc) never needs it. */
function psOutput(pid: number, field: string): string {
  const { execFileSync } = createRequire(import.meta.url)("node:child_process") as typeof ChildProcesses;
  return execFileSync("ps", ["-o", `${field}=`, "-p", String(pid)], { encoding: "utf8" });
}

/** What /proc/PID/stat says of a process: its state letter (R, S, D, Z for a zombie...) and its start time. */
interface ProcStat {
  state: string;
  started: string;
}

/**
 * One read of /proc/PID/stat, or undefined when there is no such process. Reading once answers "does it run"
 * and "is it the same process" together: two reads would race the process exiting (or its parent reaping a
 * zombie) in between, and a dead process would then look alive.
 */
function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0]!, started: fields[19]! };
  } catch {
    return undefined;
  }
}

/** Linux's /proc, where a process can be read in one go; elsewhere kill(pid, 0) and `ps` are asked. */
const HAS_PROC = process.platform === "linux" && procStat(process.pid) !== undefined;

/**
 * A process that exited but was never reaped is a zombie; in containers whose first process does not reap
 * orphans, a killed daemon stays one: it counts as dead.
 */
const running = (stat: ProcStat | undefined): stat is ProcStat => stat !== undefined && stat.state !== "Z" && stat.state !== "X";

/**
 * When a process started, as the system tells it: field 22 of /proc/PID/stat on Linux, `ps -o lstart=`
 * elsewhere. A pid the system recycled for another process has another start time, so a pid plus its start
 * time names one process for good.
 */
export function processStarted(pid: number): string | undefined {
  if (process.platform === "win32" || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (HAS_PROC) return procStat(pid)?.started;
  try {
    return psOutput(pid, "lstart").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** True while the process runs (zombies count as gone). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (HAS_PROC) return running(procStat(pid));
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when `pid` still names the process that started at `started` (unknown start times are trusted). */
export function isSameProcess(pid: number, started: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (HAS_PROC) {
    const stat = procStat(pid);
    return running(stat) && (started === undefined || stat.started === started);
  }
  if (!isProcessAlive(pid)) return false;
  if (started === undefined) return true;
  const now = processStarted(pid);
  return now === undefined || now === started;
}

/**
 * Whether the process still runs, as cheaply as the system tells: with its start time where /proc has it;
 * elsewhere by kill(pid, 0) alone, since `ps` costs a process each time (for a caller that looks often, and checks
 * the start time itself when it matters: before signalling).
 */
export function stillRunning(pid: number, started: string | undefined): boolean {
  return HAS_PROC ? isSameProcess(pid, started) : isProcessAlive(pid);
}
