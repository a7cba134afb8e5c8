/**
 * A daemon serves bursts (sessions starting, a batch of tool calls) and then waits, often for hours. V8 keeps what
 * a burst left until its next full collection, which a waiting process may not reach for a long time: the built-in
 * memory server's daemon kept 70 MiB private after 13,000 calls, 8 MiB of its heap alive, and went down to 33 MiB
 * once collected. So once calls stop, the daemon collects its garbage, once per burst.
 */
export class IdleCollection {
  private seen = 0;
  private collectedAt = 0;

  /**
   * `finished`: the count of calls finished so far. `collect`: a full collection, the `gc` Node gives a process
   * started with --expose-gc (as starters start daemons: runtime/entry-points.ts); without it nothing is done.
   */
  constructor(
    private readonly finished: () => number,
    private readonly collect: (() => void) | undefined = (globalThis as { gc?: () => void }).gc,
  ) {}

  /** Called at a steady pace (the daemon's housekeeping): collects when calls came before the last look and none since. */
  look(): void {
    const count = this.finished();
    if (count !== this.seen) {
      this.seen = count;
      return;
    }
    if (count === this.collectedAt) return;
    this.collectedAt = count;
    this.collect?.();
  }
}
