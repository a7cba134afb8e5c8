import { lockPath } from "../config/paths.js";
import { hostedByUs } from "../config/server-config.js";
import { isOwnSocket } from "../files/own-socket.js";
import { PROVEN_SESSION_SOCKET_PROTOCOL } from "../protocol/session-socket.js";
import { readHomeToken } from "../runtime/home-token.js";
import { isHolderAlive, readLock } from "../runtime/lock-file.js";
import { SessionSocketTransport, type SessionSocketOptions } from "../upstream/session-socket.js";
import type { ResolvedTarget, TargetResolver } from "./target-resolver.js";

/**
 * How long a running daemon may take to prove itself and open the session: it answers both at once, so one that
 * takes longer is hung or going, and the full way (which waits for a start) takes over.
 */
const PROOF_TIMEOUT_MS = 2000;

export interface RunningDaemonOptions extends Omit<SessionSocketOptions, "path" | "proof" | "greetingTimeoutMs"> {
  name: string;
  home: string;
  targets: TargetResolver;
}

/** A session opened on the running daemon; or, when there is none to open, the target if it was resolved meanwhile. */
export type RunningSession =
  { session: SessionSocketTransport; startTimeoutMs?: number } | { session?: undefined; resolved?: ResolvedTarget };

/**
 * How most sessions start, their daemon already running: through the session socket its lock file names, the daemon
 * proven on that socket itself (protocol version 2), without the code that looks for a daemon, proves it over HTTP
 * or starts one. The config is checked first unless it is exactly the one the daemon checked (config-digest.ts);
 * then only a server our daemon still hosts is connected to. A config that does not check is thrown, as the full
 * way would. Anything else that does not work out (no lock or token yet, a daemon of an earlier version, one being
 * replaced) leaves the session to the full way, which tells what is wrong if it fails too.
 */
export async function openRunningSession(options: RunningDaemonOptions): Promise<RunningSession> {
  const { name, home, targets, log } = options;
  const lock = readLock(lockPath(name, home));
  const path = lock?.sessionSocket;
  if (!lock || !path || lock.sessionProtocol !== PROVEN_SESSION_SOCKET_PROTOCOL) return {};
  let resolved: ResolvedTarget | undefined;
  let startTimeoutMs = lock.startTimeoutMs;
  if (!targets.checkedAs(lock.configDigest)) {
    resolved = await targets.resolve();
    const { target } = resolved;
    if (target.kind !== "configured" || !hostedByUs(target.server) || target.server.disabled) return { resolved };
    startTimeoutMs = target.server.startTimeoutMs;
  }
  const token = readHomeToken(home);
  if (!token || !isHolderAlive(lock) || !isOwnSocket(path)) return { resolved };
  const session = new SessionSocketTransport({ ...options, greetingTimeoutMs: PROOF_TIMEOUT_MS, path, proof: { token, name } });
  try {
    await session.openAhead();
    return startTimeoutMs === undefined ? { session } : { session, startTimeoutMs };
  } catch (error) {
    log(`${(error as Error).message}; looking for the daemon another way`);
    return { resolved };
  }
}
