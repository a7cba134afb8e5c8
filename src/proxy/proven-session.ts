import { currentConfigDigest } from "../config/config-digest.js";
import { lockPath } from "../config/paths.js";
import { hostedByUs } from "../config/server-config.js";
import { isOwnSocket } from "../files/own-socket.js";
import { readHomeToken } from "../runtime/home-token.js";
import { isHolderAlive, readLock } from "../runtime/lock-file.js";
import { SessionSocketTransport, type SessionSocketOptions } from "../upstream/session-socket.js";
import type { ResolvedTarget } from "./target-resolver.js";

export interface RunningDaemonOptions extends Omit<SessionSocketOptions, "path" | "proof"> {
  name: string;
  home: string;
  /** The `--config` file, if the proxy was given one. */
  configFile?: string;
  /** Resolves the target from the config, checking it (target-resolver.ts). */
  resolve: () => Promise<ResolvedTarget>;
}

/**
 * How most sessions start, their daemon already running: the session socket its lock file names, the daemon
 * proven on that socket itself (protocol version 2), without the code that looks for a daemon, proves it over
 * HTTP or starts one. The config is checked first unless it is exactly the one the daemon checked
 * (config-digest.ts), and then only a server our daemon still hosts is connected to.
 *
 * Returns the open session with how long the server may take to start, or, with `resolved` when the config was
 * checked, undefined whenever this way does not work out (no lock or token yet, a daemon of an earlier version,
 * one being replaced): the full way then tells what is wrong if it fails too. A config that does not check is
 * thrown, as the full way would.
 */
export async function openRunningSession(
  options: RunningDaemonOptions,
): Promise<{ session?: SessionSocketTransport; startTimeoutMs?: number; resolved?: ResolvedTarget }> {
  const { name, home, configFile, log } = options;
  const lock = readLock(lockPath(name, home));
  const path = lock?.sessionSocket;
  if (!lock || !path) return {};
  let resolved: ResolvedTarget | undefined;
  let startTimeoutMs = lock.startTimeoutMs;
  if (lock.configDigest === undefined || lock.configDigest !== currentConfigDigest(configFile)) {
    resolved = await options.resolve();
    const { target } = resolved;
    if (target.kind !== "configured" || !hostedByUs(target.server) || target.server.disabled) return { resolved };
    startTimeoutMs = target.server.startTimeoutMs;
  }
  const token = readHomeToken(home);
  if (!token || !isHolderAlive(lock) || !isOwnSocket(path)) return resolved ? { resolved } : {};
  const greetingTimeoutMs = startTimeoutMs ?? options.greetingTimeoutMs;
  const session = new SessionSocketTransport({ ...options, greetingTimeoutMs, path, proof: { token, name } });
  try {
    await session.start();
    return { session, ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}) };
  } catch (error) {
    log(`${(error as Error).message}; looking for the daemon another way`);
    return resolved ? { resolved } : {};
  }
}
