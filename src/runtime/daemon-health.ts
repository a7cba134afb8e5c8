import { isOwnSocket } from "../files/own-socket.js";
import { readHomeToken } from "./home-token.js";
import { jsonRequest } from "./json-request.js";
import { proveListener } from "./prove-listener.js";

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
  children: Array<{ scope: string; state: string; pid?: number; sessions: number; restarts?: number; lastError?: string }>;
  /** What the daemon learned about its server, e.g. `asksClients: { method, at }`. */
  learned?: Record<string, unknown>;
}

/** Our daemon, proven, with what it said of itself and the credential for further requests. */
/** The first of a daemon's children that gave up (its server keeps dying), if one did. */
export const failedChild = (health: DaemonHealth): DaemonHealth["children"][number] | undefined =>
  health.children.find((child) => child.state === "failed");

export interface ProvenDaemon extends DaemonHealth {
  credential: string;
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
  const token = readHomeToken(home);
  if (token === undefined) return undefined; // no token, no daemon of this home can be proven
  const timeoutMs = options.timeoutMs ?? 2000;
  const endpoint = where.socketPath !== undefined && isOwnSocket(where.socketPath) ? where : { url: where.url };
  const proven = await proveListener(endpoint, { role: "daemon", name }, token, timeoutMs);
  if (!proven) return undefined;
  try {
    const answer = await jsonRequest(new URL("/health", endpoint.url), {
      headers: { authorization: `Bearer ${proven.credential}` },
      ...(endpoint.socketPath !== undefined ? { socketPath: endpoint.socketPath } : {}),
      timeoutMs,
    });
    const health = answer.body as Partial<DaemonHealth> | undefined;
    if (answer.status !== 200 || health?.role !== "daemon" || health.name !== name) return undefined;
    if (options.pid !== undefined && health.pid !== options.pid) return undefined;
    return { ...(health as DaemonHealth), credential: proven.credential };
  } catch {
    return undefined;
  }
}
