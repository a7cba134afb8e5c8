import { setTimeout as sleep } from "node:timers/promises";
import { managerLogPath } from "../config/paths.js";
import { rotateLog } from "../logging/rotate.js";
import type { Config } from "../config/server-config.js";
import { logTail } from "../logging/log-tail.js";
import { pingManager, type ManagerIdentity } from "../runtime/manager-client.js";
import { spawnDetached } from "../runtime/spawn-detached.js";
import { managerScript } from "../runtime/entry-points.js";

/**
 * `mcp-manager start --detach`: runs the manager in the background (its own session, output in
 * `<home>/manager.log`) and returns once its API answers.
 */
export async function startDetached(config: Config, home: string, startAll: boolean, timeoutMs = 15_000): Promise<ManagerIdentity> {
  const logFile = managerLogPath(home);
  rotateLog(logFile, { maxBytes: config.manager.logMaxBytes, keep: config.manager.logFiles });
  const args = [managerScript(), ...(config.file ? ["--config", config.file] : []), "start", ...(startAll ? ["--start-all"] : [])];
  const child = spawnDetached({ command: process.execPath, args, env: {}, logFile });
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = signal ?? `code ${code}`));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const identity = await pingManager(config.manager.port, home, 500);
    if (identity) return identity;
    if (exited) break;
    await sleep(100);
  }
  throw new Error(
    `the manager did not come up (${exited ? `it exited with ${exited}` : `no answer within ${timeoutMs} ms`}); see ${logFile}${logTail(logFile)}`,
  );
}
