import { lockPath } from "../config/paths.js";
import { hostedByUs, type ServerConfig } from "../config/server-config.js";
import { processStarted } from "../process/process-identity.js";
import { addressFrom, type RunningDaemon } from "./daemon-address.js";
import { probeDaemon } from "./daemon-health.js";
import { isHolderAlive, readLock, type LockRecord } from "./lock-file.js";
import { isListening } from "./port-probe.js";

/**
 * The server's daemon when it runs and is ours: the lock's live holder answering at the lock's URL (our daemon
 * must also name itself in `/health`), or our daemon on the configured port whose lock file was removed by hand.
 */
export async function findDaemon(server: ServerConfig, home: string): Promise<RunningDaemon | undefined> {
  const lock = readLock(lockPath(server.name, home));
  if (lock?.url && isHolderAlive(lock) && (await answers(server, lock.url, lock.pid))) return runningFrom(lock);
  if (hostedByUs(server) && server.url) {
    const health = await probeDaemon(new URL(server.url), server.name);
    if (health) {
      const started = processStarted(health.pid);
      const address = { url: new URL(server.url) };
      return started === undefined ? { address, pid: health.pid } : { address, pid: health.pid, pidStarted: started };
    }
  }
  return undefined;
}

/** Whether the daemon a lock names answers at its URL: our daemon by its `/health`, an HTTP server by a connect. */
export async function answers(server: ServerConfig, url: string, pid: number): Promise<boolean> {
  if (hostedByUs(server)) return (await probeDaemon(new URL(url), server.name, pid)) !== undefined;
  return isListening(new URL(url));
}

/** The running daemon a lock (with its URL) describes. */
export function runningFrom(lock: LockRecord): RunningDaemon {
  const address = addressFrom({ ...lock, url: lock.url! });
  return lock.pidStarted === undefined ? { address, pid: lock.pid } : { address, pid: lock.pid, pidStarted: lock.pidStarted };
}
