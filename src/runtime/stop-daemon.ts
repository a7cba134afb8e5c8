import { join } from "node:path";
import { lockPath } from "../config/paths.js";
import type { ServerConfig } from "../config/server-config.js";
import { terminate } from "../process/terminate.js";
import { ChildRegistry } from "./child-registry.js";
import { startedWithoutDaemon } from "./find-daemon.js";
import { readLock, removeLock } from "./lock-file.js";

/**
 * Stops a daemon: it gets SIGTERM alone and stops its children itself (an HTTP server an earlier version started
 * without a daemon gets it with its whole group); after `graceMs` the group is killed. The children a killed
 * daemon left are stopped too, and its lock removed. Resolves once the process is gone.
 */
export async function stopDaemon(server: ServerConfig, home: string, pid: number, graceMs = 5000): Promise<void> {
  const file = lockPath(server.name, home);
  const lock = readLock(file);
  const started = lock?.pid === pid ? lock.pidStarted : undefined;
  const politeTo = lock?.pid === pid && startedWithoutDaemon(server, lock) ? "group" : "leader";
  await terminate(pid, { graceMs, politeTo, ...(started ? { started } : {}) });
  ChildRegistry.reapAfterStop(join(home, `${server.name}.children`));
  if (readLock(file)?.pid === pid) removeLock(file);
}

/** What daemons of this server that are gone left running (one killed outright, or past its drain timeout), stopped. */
export function reapOrphanedChildren(name: string, home: string, log?: (line: string) => void): void {
  ChildRegistry.reapOwnersGone(join(home, `${name}.children`), log);
}
