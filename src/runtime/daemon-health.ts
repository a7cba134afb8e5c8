import { jsonRequest } from "./json-request.js";

/** What a daemon's `GET /health` tells: who it is, and how its server fares. */
export interface DaemonHealth {
  service: "mcp-session-manager";
  role: "daemon";
  name: string;
  version: string;
  pid: number;
  uptimeMs: number;
  sessions: number;
  children: Array<{ scope: string; state: string; pid?: number; sessions: number; restarts: number; lastError?: string }>;
}

/**
 * Asks whatever listens at the daemon URL's origin for `/health`, and returns the answer only when it is our
 * daemon for `name` (optionally with the expected pid): anything else on the port is a stranger.
 */
export async function probeDaemon(url: URL, name: string, pid?: number, timeoutMs = 2000): Promise<DaemonHealth | undefined> {
  try {
    const answer = await jsonRequest(new URL("/health", url), { timeoutMs });
    const health = answer.body as Partial<DaemonHealth> | undefined;
    if (answer.status !== 200 || health?.service !== "mcp-session-manager" || health.role !== "daemon") return undefined;
    if (health.name !== name || (pid !== undefined && health.pid !== pid)) return undefined;
    return health as DaemonHealth;
  } catch {
    return undefined;
  }
}
