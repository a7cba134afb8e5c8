import { isOwnSocket } from "../files/own-socket.js";
import { readHomeToken } from "./home-token.js";
import { jsonRequest, type JsonAnswer } from "./json-request.js";
import { proveListener } from "./prove-listener.js";

/** Where our daemon is asked: its HTTP on a Unix socket when this user made that socket, else its port. */
export interface DaemonEndpoint {
  url: URL;
  socketPath?: string;
}

/** A daemon that proved itself at `endpoint`, and the credential it accepts there. */
export interface ProvenEndpoint {
  endpoint: DaemonEndpoint;
  credential: string;
}

/**
 * This home's daemon for `name` at `where`, proven before anything else is sent (prove-listener.ts), on the
 * endpoint it is then asked at. Undefined when nothing answers there, a stranger does, or there is no token.
 */
export async function proveDaemon(
  where: { url: URL; socketPath?: string },
  name: string,
  home: string,
  timeoutMs: number,
): Promise<ProvenEndpoint | undefined> {
  const token = readHomeToken(home);
  if (token === undefined) return undefined; // no token, no daemon of this home can be proven
  const endpoint: DaemonEndpoint = where.socketPath !== undefined && isOwnSocket(where.socketPath) ? where : { url: where.url };
  const proven = await proveListener(endpoint, { role: "daemon", name }, token, timeoutMs);
  return proven ? { endpoint, credential: proven.credential } : undefined;
}

/** One request to a proven daemon with its credential; undefined when it does not answer. */
export async function askDaemon(
  { endpoint, credential }: ProvenEndpoint,
  path: string,
  options: { method?: string; headers?: Record<string, string>; timeoutMs: number; maxBytes?: number },
): Promise<JsonAnswer | undefined> {
  try {
    return await jsonRequest(new URL(path, endpoint.url), {
      ...options,
      headers: { ...options.headers, authorization: `Bearer ${credential}` },
      ...(endpoint.socketPath !== undefined ? { socketPath: endpoint.socketPath } : {}),
    });
  } catch {
    return undefined;
  }
}
