import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const ms = (value: number, digits = 3) => `${value.toFixed(digits)} ms`;
/** A memory figure for a table: MiB with one decimal, or "n/a" where it could not be read. */
export const mib = (value: number | undefined) => (value === undefined ? "n/a" : `${value.toFixed(1)} MiB`);

/** Resident set size of a process, from /proc (Linux). */
export function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Memory a process does not share with others (USS): what one more such process really costs. */
export function privateMiB(pid: number): number | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = ["Private_Clean", "Private_Dirty"].reduce(
      (sum, key) => sum + Number(new RegExp(`${key}:\\s+(\\d+)`).exec(rollup)?.[1] ?? 0),
      0,
    );
    return kb / 1024;
  } catch {
    return undefined;
  }
}

/** Proportional set size: shared pages split among the processes sharing them, so a sum over processes is honest. */
export function pssMiB(pid: number): number | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A process's resident and private memory, in MiB. */
export interface ProcessMemory {
  rss: number | undefined;
  own: number | undefined;
}

export const processMemory = (pid: number): ProcessMemory => ({ rss: rssMiB(pid), own: privateMiB(pid) });

/** The floor: a Node process that only waits, measured the same way. */
export async function bareNodeMemory(): Promise<ProcessMemory> {
  const child = spawn(process.execPath, ["-e", "process.stdout.write('up\\n'); setInterval(() => {}, 1000)"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  await once(child.stdout, "data");
  const memory = processMemory(child.pid!);
  child.kill("SIGKILL");
  await once(child, "exit");
  return memory;
}

/** A process's CPU time so far (user + system), in ms, from /proc (clock ticks at USER_HZ = 100). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
