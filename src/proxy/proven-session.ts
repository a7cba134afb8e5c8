import { lockPath } from "../config/paths.js";
import { readHomeToken } from "../runtime/home-token.js";
import { isHolderAlive, provenSessionSocket, readLock } from "../runtime/lock-file.js";
import { SessionSocketTransport, type SessionSocketOptions } from "../upstream/session-socket.js";
import type { DaemonTarget } from "./daemon-starter.js";

/**
 * How long a running daemon may take to prove itself and open the session: it answers both at once, so one that
 * takes longer is hung or going, and the full way (which waits for a start) takes over.
 */
const PROOF_TIMEOUT_MS = 2000;

/**
 * How most sessions start, their daemon already running: through the session socket its lock file names, the daemon
 * proven on that socket itself (protocol version 2), without the code that looks for a daemon, proves it over HTTP
 * or starts one; for a configured server, as `target` says. Undefined whenever this does not work out
 * (no lock or token yet, a daemon of an earlier version, one being replaced): the full way then takes over, and
 * tells what is wrong if it fails too.
 */
export async function openRunningSession(
  target: DaemonTarget,
  options: Omit<SessionSocketOptions, "path" | "proof" | "greetingTimeoutMs">,
): Promise<SessionSocketTransport | undefined> {
  if (target.kind !== "configured" || target.server.disabled) return undefined;
  const { home, server } = target;
  const lock = readLock(lockPath(server.name, home));
  const path = lock && isHolderAlive(lock) ? provenSessionSocket(lock) : undefined;
  const token = path && readHomeToken(home);
  if (!path || !token) return undefined;
  const proof = { token, name: server.name };
  const session = new SessionSocketTransport({ ...options, greetingTimeoutMs: PROOF_TIMEOUT_MS, path, proof });
  try {
    await session.openAhead();
    return session;
  } catch (error) {
    options.log(`${(error as Error).message}; looking for the daemon another way`);
    return undefined;
  }
}
