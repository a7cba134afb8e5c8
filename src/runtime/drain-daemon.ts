import type { DaemonAddress } from "./daemon-address.js";
import { askDaemon, proveDaemon } from "./daemon-request.js";

/**
 * Asks our daemon for `name` at `address` to drain (POST /drain), once it has proven itself: it stops listening
 * and gives up its lock before it answers, then finishes its calls in flight on its own. False when it cannot:
 * it does not prove itself, or it is of a version without drains (then it is stopped the old way).
 */
export async function drainDaemon(address: DaemonAddress, name: string, home: string, reason: string): Promise<boolean> {
  const proven = await proveDaemon(address, name, home, 2000);
  if (!proven) return false;
  const answer = await askDaemon(proven, "/drain", { method: "POST", headers: { "x-drain-reason": reason }, timeoutMs: 5000 });
  return answer?.status === 200;
}
