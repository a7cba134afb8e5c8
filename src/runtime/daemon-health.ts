import { askDaemon, proveDaemon, type DaemonEndpoint, type ProvenEndpoint } from "./daemon-request.js";
import type { RestartEvent } from "./restart-history.js";

/** What a daemon's `GET /health` tells: who it is, and how its server fares. */
export interface DaemonHealth {
  service: "mcp-session-manager";
  role: "daemon";
  name: string;
  version: string;
  pid: number;
  uptimeMs: number;
  sessions: number;
  /** `restarts` may be missing from daemons of earlier versions. */
  children: Array<{
    scope: string;
    state: string;
    pid?: number;
    sessions: number;
    restarts?: number;
    lastError?: string;
    /** The last restarts of this child and why (missing from earlier versions). */
    restartLog?: RestartEvent[];
    /** The built-in memory server: each project database it has open. */
    databases?: DatabaseReport[];
    /** A remote server's relay: the URL it relays to (no process of its own). */
    relaysTo?: string;
  }>;
  /** What the daemon learned about its server, e.g. `asksClients: { method, at }`. */
  learned?: Record<string, unknown>;
}

/** What a daemon's `GET /activity` tells (missing from earlier versions): each session, and the calls answered. */
export interface DaemonActivity {
  sessionList: SessionReport[];
  calls: CallStatsReport;
}

/** The longest `/activity` answer taken: 500 sessions with ten requests in flight each fit well within it. */
const MAX_ACTIVITY_BYTES = 16 * 1024 * 1024;

/** A proven daemon's activity, or undefined when it does not tell (an earlier version, or it went away). */
export async function daemonActivity(proven: ProvenEndpoint): Promise<DaemonActivity | undefined> {
  const answer = await askDaemon(proven, "/activity", { timeoutMs: 2000, maxBytes: MAX_ACTIVITY_BYTES });
  const activity = answer?.body as Partial<DaemonActivity> | undefined;
  if (answer?.status !== 200 || !Array.isArray(activity?.sessionList) || !Array.isArray(activity.calls?.buckets)) return undefined;
  return activity as DaemonActivity;
}

/** One session as its daemon sees it. */
export interface SessionReport {
  id: string;
  client?: { name: string; version?: string };
  project?: string;
  /** The child (scope and handshake profile) serving it, once it sent `initialize`. */
  child?: string;
  connectedAt: number;
  calls: number;
  errors: number;
  /** Requests in flight; the first ten (the longest waiting) are listed in `inFlight`. */
  waiting: number;
  inFlight: Array<{ method: string; tool?: string; forMs: number }>;
}

/** One point of the call history: calls answered in the bucket starting `at`, and their latency percentiles. */
export interface CallBucket {
  at: number;
  calls: number;
  errors: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

export interface CallStatsReport {
  bucketMs: number;
  buckets: CallBucket[];
  /** The last minute as one bucket (its rate over the time it spans, its percentiles over all its samples). */
  lastMinute: CallBucket & { perSecond: number };
  recentErrors: Array<{ at: number; session: string; method: string; tool?: string; error: string }>;
}

/** A project database the built-in memory server has open. */
export interface DatabaseReport {
  path: string;
  bytes: number;
  entities?: number;
}

/** How often a child was restarted, as people read it: "restarted 1 time so far". */
export function restartsSoFar(child: DaemonHealth["children"][number]): string {
  const count = child.restarts ?? 0;
  return `restarted ${count} time${count === 1 ? "" : "s"} so far`;
}

/** A child that gave up (its server keeps dying), else one waiting to be restarted: the daemon runs, its server does not. */
export const troubledChild = (health: DaemonHealth): DaemonHealth["children"][number] | undefined =>
  health.children.find((child) => child.state === "failed") ?? health.children.find((child) => child.state === "backing-off");

/** Our daemon, proven, with what it said of itself and where and how to ask it more. */
export interface ProvenDaemon extends DaemonHealth {
  credential: string;
  endpoint: DaemonEndpoint;
}

/**
 * This home's daemon for `name` at `url` (or at `socketPath`, the same HTTP on a Unix socket, preferred when this
 * user made it), proven before anything else is sent (prove-listener.ts), then asked for `/health`; optionally
 * it must have `pid`. Undefined when nothing answers there, or a stranger does.
 */
export async function probeDaemon(
  where: { url: URL; socketPath?: string },
  name: string,
  home: string,
  options: { pid?: number; timeoutMs?: number } = {},
): Promise<ProvenDaemon | undefined> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const proven = await proveDaemon(where, name, home, timeoutMs);
  if (!proven) return undefined;
  const answer = await askDaemon(proven, "/health", { timeoutMs });
  const health = answer?.body as Partial<DaemonHealth> | undefined;
  if (answer?.status !== 200 || health?.role !== "daemon" || health.name !== name) return undefined;
  if (options.pid !== undefined && health.pid !== options.pid) return undefined;
  return { ...(health as DaemonHealth), ...proven };
}
