/** The rule for restarting what crashed: the manager's daemons and a daemon's stdio children follow it alike. */
export interface RestartRule {
  /** Restarts in a row (each after a crash within `stableAfterMs` of its start) before giving up. */
  limit: number;
  /** Delay before the second restart in a row (the first is immediate), doubled per further crash. */
  backoffMs: number;
}

/** What ran this long before it crashed was not crash-looping: its crash starts a fresh count. */
export const STABLE_AFTER_MS = 60_000;
export const MAX_BACKOFF_MS = 30_000;

export type RestartDecision = { restart: true; delayMs: number } | { restart: false };

/**
 * Counts crashes in a row. The first crash is restarted at once (sessions are waiting); each further one within a
 * minute of its start waits `backoffMs`, doubled each time up to 30 s; after `limit` restarts in a row the next
 * crash gives up.
 */
export class RestartPolicy {
  private failures = 0;

  constructor(private readonly rule: RestartRule) {}

  /** Crashes in a row so far. */
  get failuresInARow(): number {
    return this.failures;
  }

  /** A start failed (`ranForMs` 0) or a run ended unasked after `ranForMs`: restart, when, or give up. */
  crashed(ranForMs: number): RestartDecision {
    this.failures = ranForMs >= STABLE_AFTER_MS ? 1 : this.failures + 1;
    if (this.failures > this.rule.limit) return { restart: false };
    const delayMs = this.failures === 1 ? 0 : Math.min(MAX_BACKOFF_MS, this.rule.backoffMs * 2 ** (this.failures - 2));
    return { restart: true, delayMs };
  }

  /** Someone fixed the cause, or enough time passed: the next crash counts as the first. */
  reset(): void {
    this.failures = 0;
  }
}
