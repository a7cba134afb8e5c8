import type { Config } from "../config/server-config.js";
import { isSameProcess } from "../process/process-identity.js";
import { terminate } from "../process/terminate.js";
import { pingManager } from "../runtime/manager-client.js";
import { readLock } from "../runtime/lock-file.js";
import { managerLockPath } from "../config/paths.js";

/** `mcp-manager stop --manager`: SIGTERM to the manager of this home, then wait until it is gone. */
export async function stopManager(config: Config, home: string, timeoutMs = 30_000): Promise<string> {
  const identity = await pingManager(config.manager.port, home);
  const lock = readLock(managerLockPath(home));
  const pid = identity?.pid ?? (lock && isSameProcess(lock.pid, lock.pidStarted) ? lock.pid : undefined);
  if (pid === undefined) return "the manager is not running";
  const started = lock?.pid === pid ? lock.pidStarted : undefined;
  await terminate(pid, { graceMs: timeoutMs, politeTo: "leader", ...(started ? { started } : {}) });
  if (isSameProcess(pid, started)) throw new Error(`the manager (pid ${pid}) did not stop, even when killed`);
  return `manager stopped (pid ${pid}); the daemons it had started were stopped with it`;
}
