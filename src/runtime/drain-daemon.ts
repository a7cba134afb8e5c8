import { isOwnSocket } from "../files/own-socket.js";
import type { DaemonAddress } from "./daemon-address.js";
import { readHomeToken } from "./home-token.js";
import { jsonRequest } from "./json-request.js";
import { proveListener } from "./prove-listener.js";

/**
 * Asks our daemon for `name` at `address` to drain (POST /drain), once it has proven itself: it stops listening
 * and gives up its lock before it answers, then finishes its calls in flight on its own. False when it cannot:
 * it does not prove itself, or it is of a version without drains (then it is stopped the old way).
 */
export async function drainDaemon(address: DaemonAddress, name: string, home: string, reason: string): Promise<boolean> {
  const token = readHomeToken(home);
  if (token === undefined) return false;
  const endpoint = address.socketPath !== undefined && isOwnSocket(address.socketPath) ? address : { url: address.url };
  const proven = await proveListener(endpoint, { role: "daemon", name }, token, 2000);
  if (!proven) return false;
  try {
    const answer = await jsonRequest(new URL("/drain", endpoint.url), {
      method: "POST",
      headers: { authorization: `Bearer ${proven.credential}`, "x-drain-reason": reason },
      ...(endpoint.socketPath !== undefined ? { socketPath: endpoint.socketPath } : {}),
      timeoutMs: 5000,
    });
    return answer.status === 200;
  } catch {
    return false;
  }
}
