import type { Writable } from "node:stream";

/**
 * Writes newline-delimited messages to a stream and respects its backpressure: once the stream asks to wait
 * (`write` returned false), lines are held here until it drains, and the owner is told so it can stop reading
 * what produces them. Past `maxQueuedBytes` a line is refused rather than letting a reader that never reads
 * grow our memory without bound.
 */
export class LineWriter {
  /** Told when the stream starts (`true`) and stops (`false`) asking us to wait. */
  onpressure: (waiting: boolean) => void = () => {};
  private held: string[] = [];
  private heldBytes = 0;
  private waiting = false;

  constructor(
    private readonly stream: Writable,
    private readonly maxQueuedBytes = Number.POSITIVE_INFINITY,
  ) {
    stream.on("drain", () => this.flush());
  }

  /** Bytes written but not yet taken by the reader: what we hold plus what the stream buffers. */
  get queuedBytes(): number {
    return this.heldBytes + this.stream.writableLength;
  }

  /** Writes one line (a newline is added); false when refused because the reader is too far behind. */
  write(text: string): boolean {
    if (this.stream.destroyed || this.stream.writableEnded) return false;
    if (this.waiting) {
      if (this.queuedBytes + text.length > this.maxQueuedBytes) return false;
      this.held.push(text);
      this.heldBytes += text.length + 1;
      return true;
    }
    if (!this.stream.write(text + "\n")) {
      this.waiting = true;
      this.onpressure(true);
    }
    return true;
  }

  private flush(): void {
    while (this.held.length > 0) {
      const text = this.held.shift()!;
      this.heldBytes -= text.length + 1;
      if (!this.stream.write(text + "\n")) return; // wait for the next drain
    }
    if (this.waiting) {
      this.waiting = false;
      this.onpressure(false);
    }
  }
}
