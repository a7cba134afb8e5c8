import { join } from "node:path";
import { lockPath } from "../config/paths.js";
import { hostedByUs, type ServerConfig } from "../config/server-config.js";
import { terminate } from "../process/terminate.js";
import { ChildRegistry } from "./child-registry.js";
import { readLock, removeLock } from "./lock-file.js";

/**
 * Stops a daemon: our daemon gets SIGTERM alone and stops its children itself; an HTTP server gets it with its
 * whole group; after `graceMs` the group is killed. The children a killed daemon of ours left are stopped too,
 * and its lock removed. Resolves once the process is gone.
 */
export async function stopDaemon(server: ServerConfig, home: string, pid: number, graceMs = 5000): Promise<void> {
  const file = lockPath(server.name, home);
  const lock = readLock(file);
  const started = lock?.pid === pid ? lock.pidStarted : undefined;
  await terminate(pid, { graceMs, politeTo: hostedByUs(server) ? "leader" : "group", ...(started ? { started } : {}) });
  if (hostedByUs(server)) ChildRegistry.reapAfterStop(join(home, `${server.name}.children`));
  if (readLock(file)?.pid === pid) removeLock(file);
}

/** The children of drained daemons that are gone (killed past their drain timeout), stopped. */
export function reapDrainedChildren(name: string, home: string): void {
  ChildRegistry.reapOwnersGone(join(home, `${name}.children`));
}
