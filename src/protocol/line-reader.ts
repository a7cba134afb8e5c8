import type { Readable } from "node:stream";
import { RELAY_BYTES_FROM } from "./large-lines.js";

export interface LineReaderEvents {
  /** One line, decoded; `bytes` are the same line as it arrived (large-lines.ts says when to relay those instead). */
  line(text: string, bytes: Buffer): void;
  /**
   * A line of RELAY_BYTES_FROM bytes or more, before it is joined and decoded, in the pieces it arrived in: true
   * when it was taken as it is, and `line` is not called for it. Only whole lines are offered: the bytes left
   * without a newline when the stream ends (a writer that died mid-line) go to `line`, to be parsed.
   */
  large?(pieces: Buffer[]): boolean;
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

  /** Tolerates CRLF: drops the CR, the last byte of the last piece that has any (a newline may open the next chunk). */
  const withoutCr = (pieces: Buffer[], length: number): number => {
    let at = pieces.length - 1;
    while (at > 0 && pieces[at]!.length === 0) at -= 1;
    const last = pieces[at]!;
    if (last.length === 0 || last[last.length - 1] !== 0x0d) return length;
    pieces[at] = last.subarray(0, last.length - 1);
    return length - 1;
  };

  const decoded = (pieces: Buffer[], length: number) => {
    const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, length);
    on.line(bytes.toString("utf8"), bytes);
  };

  /** A whole line (its newline arrived): a large one is offered as it is first. */
  const emit = (pieces: Buffer[], length: number) => {
    length = withoutCr(pieces, length);
    if (length === 0) return;
    if (on.large && length >= RELAY_BYTES_FROM && on.large(pieces)) return;
    decoded(pieces, length);
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
        const line = parts;
        const length = size;
        // Reset first: a handler that throws must not leave this line to be glued onto the next.
        parts = [];
        size = 0;
        emit(line, length);
      }
      start = newline + 1;
    }
  });
  input.on("end", () => {
    if (skipped >= 0) on.oversized(skipped, head, tail.toString("utf8"));
    else if (size > 0) {
      // The writer ended mid-line: what it wrote is parsed (and likely refused), never offered as a line's bytes.
      const length = withoutCr(parts, size);
      if (length > 0) decoded(parts, length);
    }
    on.end();
  });
}
