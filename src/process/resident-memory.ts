import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Resident memory in bytes of each of `pids` that runs: from `/proc/PID/status` on Linux, else one `ps` for all
 * of them. A process that is gone (or not ours to read) is simply missing from the answer.
 */
export function residentBytes(pids: number[]): Map<number, number> {
  const sizes = new Map<number, number>();
  if (pids.length === 0) return sizes;
  if (process.platform === "linux") {
    for (const pid of pids) {
      try {
        const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
        if (kib !== undefined) sizes.set(pid, Number(kib) * 1024);
      } catch {
        // gone since it was listed
      }
    }
    return sizes;
  }
  if (process.platform === "win32") return sizes; // tasklist would cost more than the page is worth
  try {
    const lines = execFileSync("ps", ["-o", "pid=,rss=", "-p", pids.join(",")], { encoding: "utf8", timeout: 2000 });
    for (const line of lines.split("\n")) {
      const [pid, kib] = line.trim().split(/\s+/).map(Number);
      if (pid && kib !== undefined && Number.isFinite(kib)) sizes.set(pid, kib * 1024);
    }
  } catch {
    // ps exits 1 when none of them runs any more
  }
  return sizes;
}
