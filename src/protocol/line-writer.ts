import type { Writable } from "node:stream";

/**
 * Writes newline-delimited messages to a stream and respects its backpressure: once the stream asks to wait
 * (`write` returned false), lines are held here until it drains. Once more than `pressureAboveBytes` wait, the
 * owner is told, so it can stop reading what produces them, and told again when all has drained. Past
 * `maxQueuedBytes` a line is refused rather than letting a reader that never reads grow our memory without bound.
 */
export class LineWriter {
  /** Told when more than `pressureAboveBytes` start waiting (`true`), and when all has drained (`false`). */
  onpressure: (waiting: boolean) => void = () => {};
  private held: Array<string | Buffer[]> = [];
  private flushWaiters: Array<() => void> = [];
  private heldBytes = 0;
  private waiting = false;
  private pressed = false;

  constructor(
    private readonly stream: Writable,
    private readonly limits: { maxQueuedBytes?: number; pressureAboveBytes?: number } = {},
  ) {
    stream.on("drain", () => this.flush());
  }

  /** Bytes written but not yet taken by the reader: what we hold plus what the stream buffers. */
  get queuedBytes(): number {
    return this.heldBytes + this.stream.writableLength;
  }

  /**
   * Writes one line (a newline is added), given as text or as the bytes it arrived in, in pieces; false when
   * refused because the reader is too far behind.
   */
  write(line: string | Buffer[]): boolean {
    if (this.stream.destroyed || this.stream.writableEnded) return false;
    if (this.waiting) {
      const size = sizeOf(line);
      if (this.queuedBytes + size > (this.limits.maxQueuedBytes ?? Number.POSITIVE_INFINITY)) return false;
      this.held.push(line);
      this.heldBytes += size + 1;
    } else if (!this.put(line)) {
      this.waiting = true;
    }
    if (this.waiting && !this.pressed && this.queuedBytes > (this.limits.pressureAboveBytes ?? 0)) {
      this.pressed = true;
      this.onpressure(true);
    }
    return true;
  }

  /** Resolves once every line written so far has left: none held here, and the stream has written them out. */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.held.length > 0) this.flushWaiters.push(resolve);
      else this.stream.write("", () => resolve());
    });
  }

  private put(line: string | Buffer[]): boolean {
    return typeof line === "string" ? this.stream.write(line + "\n") : writePieces(this.stream, line);
  }

  private flush(): void {
    while (this.held.length > 0) {
      const line = this.held.shift()!;
      this.heldBytes -= sizeOf(line) + 1;
      if (!this.put(line)) return; // wait for the next drain
    }
    for (const resolve of this.flushWaiters.splice(0)) this.stream.write("", () => resolve());
    this.waiting = false;
    if (this.pressed) {
      this.pressed = false;
      this.onpressure(false);
    }
  }
}

/**
 * One line given as the pieces of bytes it arrived in, to `stream` in one write: the pieces and their newline are
 * corked together. `written` is called as for the stream's write. False when the stream wants a drain.
 */
export function writePieces(stream: Writable, pieces: Buffer[], written?: (error?: Error | null) => void): boolean {
  stream.cork();
  for (const piece of pieces) stream.write(piece);
  const more = written ? stream.write("\n", written) : stream.write("\n");
  stream.uncork();
  return more;
}

/** A line's size as the queue counts it: characters of text, or bytes. */
function sizeOf(line: string | Buffer[]): number {
  return typeof line === "string" ? line.length : line.reduce((sum, piece) => sum + piece.length, 0);
}
