import { closeSync, openSync, readSync, statSync } from "node:fs";

/** How far back from the end the first look reads: enough for any number of lines anyone reads in a terminal. */
const TAIL_WINDOW = 1024 * 1024;
/** Read at most this much per look while following: a log growing very fast is shown in steps. */
const STEP_BYTES = 1024 * 1024;

/**
 * A log file read from its end: its last lines, then, look after look, the lines appended since. A log rotated
 * under us (truncated in place) is read again from its start; a line still being written waits for its end.
 */
export class LogFollower {
  private offset = 0;
  private partial = "";

  constructor(readonly file: string) {}

  /** The last `count` whole lines; throws when the file cannot be read (no log yet). */
  last(count: number): string[] {
    const size = statSync(this.file).size;
    const start = Math.max(0, size - TAIL_WINDOW);
    const lines = readRange(this.file, start, size).split("\n");
    this.offset = size;
    this.partial = lines.pop() ?? ""; // "" after a final newline, else a line not finished yet
    return count > 0 ? lines.slice(-count) : [];
  }

  /** The whole lines appended since the last look (none when the file is gone for a moment, as during a rotation). */
  more(): string[] {
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      return [];
    }
    if (size < this.offset) [this.offset, this.partial] = [0, ""];
    if (size === this.offset) return [];
    const end = Math.min(size, this.offset + STEP_BYTES);
    const lines = (this.partial + readRange(this.file, this.offset, end)).split("\n");
    this.offset = end;
    this.partial = lines.pop() ?? "";
    return lines;
  }
}

function readRange(file: string, from: number, to: number): string {
  const fd = openSync(file, "r");
  try {
    const buffer = Buffer.alloc(to - from);
    const read = readSync(fd, buffer, 0, buffer.length, from);
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    closeSync(fd);
  }
}
