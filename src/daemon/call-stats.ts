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

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  record(call: FinishedCall): void {
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

  /** Every bucket of the window, oldest first, empty ones included, so charts have an even time axis. */
  report(): CallStatsReport {
    const current = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    const byStart = new Map(this.buckets.map((bucket) => [bucket.at, bucket]));
    const buckets: CallBucket[] = [];
    for (let at = current - (BUCKETS - 1) * BUCKET_MS; at <= current; at += BUCKET_MS) {
      const bucket = byStart.get(at);
      buckets.push(bucket ? summarize(bucket) : { at, calls: 0, errors: 0 });
    }
    return { bucketMs: BUCKET_MS, buckets, recentErrors: [...this.errors] };
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
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const summary: CallBucket = { at: bucket.at, calls: bucket.calls, errors: bucket.errors };
  if (sorted.length === 0) return summary;
  return { ...summary, p50: pick(0.5), p95: pick(0.95), p99: pick(0.99) };
}
