import { closeSync, openSync, readSync, statSync } from "node:fs";

/** A line our own log writes (log.ts): a timestamp, then who wrote it in brackets. */
const OURS = /^\d{4}-\d\d-\d\dT[\d:.]+Z \[/;

/**
 * The last lines of a log, for error messages (read from its end: logs grow to megabytes). `othersOnly`: only what
 * a server wrote into it itself, not our own lines.
 */
export function logTail(file: string, othersOnly = false): string {
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
    const all = buffer.toString("utf8").trimEnd().split("\n");
    const lines = (othersOnly ? all.filter((line) => line.trim() && !OURS.test(line)) : all).slice(-3);
    return lines.length && lines[0] ? `; its last lines: ${lines.join(" | ").slice(0, 600)}` : "";
  } catch {
    return "";
  }
}
