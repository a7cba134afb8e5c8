import type { CallBucket, CallStatsReport } from "../runtime/daemon-health.js";

/** The width of one bucket of the call history: what one point of a status chart stands for. */
export const BUCKET_MS = 10_000;
/** How many buckets are kept: the last five minutes. */
const BUCKETS = 30;
/** Latencies kept per bucket for its percentiles; past it, a uniform sample (so a burst costs no memory). */
const SAMPLES_PER_BUCKET = 256;
/** Failed calls remembered for the status page. */
const RECENT_ERRORS = 20;

/** One finished call as the daemon saw it, from the request to its answer. */
export interface FinishedCall {
  session: string;
  method: string;
  tool?: string;
  ms: number;
  /** The error's message when the call failed (a JSON-RPC error, or a tool result with `isError`). */
  error?: string;
}

interface Bucket {
  at: number;
  calls: number;
  errors: number;
  latencies: number[];
}

/**
 * Calls per ten seconds over the last five minutes, with latency percentiles, and the last failed calls: what a
 * daemon tells about how its server fares right now. Memory is bounded whatever the load.
 */
export class CallStats {
  private readonly buckets: Bucket[] = [];
  private readonly errors: CallStatsReport["recentErrors"] = [];
  private readonly startedAt: number;
  /**
   * Calls finished since the daemon started, pings aside: some clients ping on a timer, and that is no work that
   * would keep a daemon from looking idle (idle-collection.ts).
   */
  finished = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.startedAt = now();
  }

  record(call: FinishedCall): void {
    if (call.method !== "ping") this.finished += 1;
    const at = this.now();
    const bucket = this.bucketAt(at);
    bucket.calls += 1;
    if (bucket.latencies.length < SAMPLES_PER_BUCKET) bucket.latencies.push(call.ms);
    else {
      // Reservoir sampling: every call of the bucket is equally likely to be among the kept ones.
      const slot = Math.floor(this.random() * bucket.calls);
      if (slot < SAMPLES_PER_BUCKET) bucket.latencies[slot] = call.ms;
    }
    if (call.error === undefined) return;
    bucket.errors += 1;
    const { session, method, tool, error } = call;
    this.errors.push({ at, session, method, ...(tool !== undefined ? { tool } : {}), error });
    if (this.errors.length > RECENT_ERRORS) this.errors.shift();
  }

  /**
   * Every bucket of the window, oldest first, empty ones included, so charts have an even time axis; and the
   * last minute as one: its rate over the time it really spans, its percentiles over all its samples.
   */
  report(): CallStatsReport {
    const now = this.now();
    const current = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const byStart = new Map(this.buckets.map((bucket) => [bucket.at, bucket]));
    const buckets: CallBucket[] = [];
    for (let at = current - (BUCKETS - 1) * BUCKET_MS; at <= current; at += BUCKET_MS) {
      const bucket = byStart.get(at);
      buckets.push(bucket ? summarize(bucket) : { at, calls: 0, errors: 0 });
    }
    // The last minute, or less if we have been counting for less.
    const since = Math.max(now - 60_000, this.startedAt);
    const minute = this.buckets.filter((bucket) => bucket.at + BUCKET_MS > since);
    const merged = summarize({
      at: since,
      calls: minute.reduce((sum, bucket) => sum + bucket.calls, 0),
      errors: minute.reduce((sum, bucket) => sum + bucket.errors, 0),
      latencies: minute.flatMap((bucket) => bucket.latencies),
    });
    const lastMinute = { ...merged, perSecond: merged.calls / Math.max(1, (now - since) / 1000) };
    return { bucketMs: BUCKET_MS, buckets, lastMinute, recentErrors: [...this.errors] };
  }

  private bucketAt(now: number): Bucket {
    const at = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const last = this.buckets.at(-1);
    if (last?.at === at) return last;
    const bucket = { at, calls: 0, errors: 0, latencies: [] };
    this.buckets.push(bucket);
    while (this.buckets.length > 0 && this.buckets[0]!.at <= at - BUCKETS * BUCKET_MS) this.buckets.shift();
    return bucket;
  }
}

function summarize(bucket: Bucket): CallBucket {
  const sorted = [...bucket.latencies].sort((a, b) => a - b);
  // Nearest rank: the smallest sample at or above which a share q of them lie.
  const pick = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
  const summary: CallBucket = { at: bucket.at, calls: bucket.calls, errors: bucket.errors };
  if (sorted.length === 0) return summary;
  return { ...summary, p50: pick(0.5), p95: pick(0.95), p99: pick(0.99) };
}
