import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { findCommand } from "../process/find-command.js";
import { shellWord } from "../process/shell-word.js";

/** The installed `mcp-manager` script, absolute: what starts daemons, the detached manager and autostart units. */
export const managerScript = (): string => fileURLToPath(new URL("../manager/index.js", import.meta.url));

/** The script a daemon runs (`node DAEMON_NODE_FLAGS daemonScript() [--config FILE] NAME`), absolute. */
export const daemonScript = (): string => fileURLToPath(new URL("../daemon/index.js", import.meta.url));

/**
 * `gc` lets a daemon collect what a burst of calls left once the calls stop (daemon/idle-collection.ts). It can
 * only be given as Node starts. (A smaller young generation, `--max-semi-space-size=2`, saved 5 MiB more at rest
 * but cost 10 sessions' calls per second 5 - 20 % under load: not set.)
 */
export const DAEMON_NODE_FLAGS = ["--expose-gc"];

/** The installed `mcp-proxy` script, absolute, so a client entry works whatever directory it is started in. */
export const proxyScript = (): string => fileURLToPath(new URL("../proxy/index.js", import.meta.url));

/**
 * How a person runs mcp-manager from any directory: its name when the installed command on PATH is this one,
 * else node and this script (a clone that was built but not installed).
 */
export function managerCommand(): string {
  const script = managerScript();
  const installed = findCommand("mcp-manager");
  try {
    if (installed && realpathSync(installed) === realpathSync(script)) return "mcp-manager";
  } catch {
    // a dangling link on PATH: not this copy
  }
  return [process.execPath, script].map(shellWord).join(" ");
}
