import type { Config } from "../config/server-config.js";
import { isSameProcess } from "../process/process-identity.js";
import { terminate } from "../process/terminate.js";
import { pingManager } from "../runtime/manager-client.js";
import { isHolderAlive, readLock } from "../runtime/lock-file.js";
import { lockPath, managerLockPath } from "../config/paths.js";

/** `mcp-manager stop --manager`: SIGTERM to the manager of this home, then wait until it is gone. */
export async function stopManager(config: Config, home: string, timeoutMs = 30_000): Promise<string> {
  const identity = await pingManager(config.manager.port, home);
  const lock = readLock(managerLockPath(home));
  const pid = identity?.pid ?? (lock && isSameProcess(lock.pid, lock.pidStarted) ? lock.pid : undefined);
  if (pid === undefined) return "the manager is not running";
  const started = lock?.pid === pid ? lock.pidStarted : undefined;
  await terminate(pid, { graceMs: timeoutMs, politeTo: "leader", ...(started ? { started } : {}) });
  if (isSameProcess(pid, started)) throw new Error(`the manager (pid ${pid}) did not stop, even when killed`);
  // It stops what it started and leaves what it adopted: say which still run, rather than promise they all stopped.
  const running = Object.values(config.servers)
    .filter((server) => {
      const held = readLock(lockPath(server.name, home));
      return held !== undefined && isHolderAlive(held);
    })
    .map((server) => server.name);
  return running.length === 0
    ? `manager stopped (pid ${pid}); no daemon runs now`
    : `manager stopped (pid ${pid}); still running (it had not started them): ${running.join(", ")}; stop them with: mcp-manager stop --all`;
}
