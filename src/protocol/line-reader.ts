import type { Readable } from "node:stream";

export interface LineReaderEvents {
  line(text: string): void;
  /** A line longer than the limit was dropped; `head`/`tail` are its first and last bytes, to find its id. */
  oversized(length: number, head: string, tail: string): void;
  end(): void;
}

const KEEP = 512;

/**
 * Splits a byte stream into newline-delimited lines, from the first byte, without ever holding more
 * than `maxBytes` of one line: a longer line is skipped up to its newline and reported.
 */
export function readLines(input: Readable, maxBytes: number, on: LineReaderEvents): void {
  let parts: Buffer[] = [];
  let size = 0;
  // While skipping an oversized line: its length so far, and its first/last bytes.
  let skipped = -1;
  let head = "";
  let tail: Buffer = Buffer.alloc(0);

  const emit = (buffer: Buffer) => {
    let end = buffer.length;
    if (end > 0 && buffer[end - 1] === 0x0d) end -= 1; // tolerate CRLF
    if (end === 0) return;
    on.line(buffer.toString("utf8", 0, end));
  };

  const startSkipping = () => {
    const joined = Buffer.concat(parts, size);
    skipped = size;
    head = joined.toString("utf8", 0, Math.min(KEEP, joined.length));
    tail = joined.subarray(Math.max(0, joined.length - KEEP));
    parts = [];
    size = 0;
  };

  input.on("data", (chunk: Buffer) => {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const stop = newline === -1 ? chunk.length : newline;
      const piece = chunk.subarray(start, stop);
      if (skipped >= 0) {
        skipped += piece.length;
        tail = Buffer.concat([tail, piece]).subarray(-KEEP);
      } else {
        parts.push(piece);
        size += piece.length;
        if (size > maxBytes) startSkipping();
      }
      if (newline === -1) break;
      if (skipped >= 0) {
        on.oversized(skipped, head, tail.toString("utf8"));
        skipped = -1;
      } else {
        const line = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
        // Reset first: a handler that throws must not leave this line to be glued onto the next.
        parts = [];
        size = 0;
        emit(line);
      }
      start = newline + 1;
    }
  });
  input.on("end", () => {
    if (skipped >= 0) on.oversized(skipped, head, tail.toString("utf8"));
    else if (size > 0) emit(Buffer.concat(parts, size));
    on.end();
  });
}
