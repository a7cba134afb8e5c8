import { lockPath } from "../config/paths.js";
import { fixedDaemonUrl, type ServerConfig } from "../config/server-config.js";
import { processStarted } from "../process/process-identity.js";
import { addressFrom, type RunningDaemon } from "./daemon-address.js";
import { probeDaemon, type ProvenDaemon } from "./daemon-health.js";
import { isHolderAlive, readLock, type LockRecord } from "./lock-file.js";

/**
 * The server's daemon when it runs and is ours: the lock's live holder answering at the lock's address (our
 * daemon must prove to be this home's daemon of the server, with the lock's pid), or our daemon on the
 * configured port whose lock file was removed by hand.
 */
export async function findDaemon(server: ServerConfig, home: string): Promise<RunningDaemon | undefined> {
  const lock = readLock(lockPath(server.name, home));
  if (lock?.url && isHolderAlive(lock)) {
    const answer = await answers(server, lock, home);
    if (answer) return runningFrom(lock, answer);
  }
  const fixed = fixedDaemonUrl(server);
  if (fixed) {
    const health = await probeDaemon({ url: new URL(fixed.url) }, server.name, home);
    if (health) {
      const started = processStarted(health.pid);
      const address = { url: new URL(fixed.url), credential: health.credential };
      return started === undefined ? { address, pid: health.pid } : { address, pid: health.pid, pidStarted: started };
    }
  }
  return undefined;
}

/** Whether the daemon a lock names answers at its address, proving itself: then its health, with the credential. */
export async function answers(server: ServerConfig, lock: LockRecord, home: string): Promise<ProvenDaemon | undefined> {
  if (!lock.url) return undefined;
  return probeDaemon(addressFrom({ ...lock, url: lock.url }), server.name, home, { pid: lock.pid });
}

/** The running daemon a lock (with its URL) describes, with the credential its proof gave. */
export function runningFrom(lock: LockRecord, answer: ProvenDaemon | true): RunningDaemon {
  const address = addressFrom({ ...lock, url: lock.url! });
  if (answer !== true) address.credential = answer.credential;
  return lock.pidStarted === undefined ? { address, pid: lock.pid } : { address, pid: lock.pid, pidStarted: lock.pidStarted };
}

/**
 * Whether a lock names an HTTP server that an earlier version started itself, without a daemon in front: its URL
 * is the server's own, where a daemon never listens. It is replaced by a daemon that starts the server.
 */
export function startedWithoutDaemon(server: ServerConfig, lock: LockRecord): boolean {
  return server.kind === "spawned" && lock.url === server.url;
}
