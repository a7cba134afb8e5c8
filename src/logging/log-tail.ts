import { closeSync, openSync, readSync, statSync } from "node:fs";

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
