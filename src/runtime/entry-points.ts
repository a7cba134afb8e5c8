import { realpathSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The installed `mcp-manager` script, absolute: what starts daemons, the detached manager and autostart units. */
export const managerScript = (): string => fileURLToPath(new URL("../manager/index.js", import.meta.url));

/** The installed `mcp-proxy` script, absolute, so a client entry works whatever directory it is started in. */
export const proxyScript = (): string => fileURLToPath(new URL("../proxy/index.js", import.meta.url));

/**
 * How a person runs mcp-manager from any directory: its name when the installed command on PATH is this one,
 * else node and this script (a clone that was built but not installed).
 */
export function managerCommand(): string {
  const script = managerScript();
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    try {
      if (realpathSync(join(dir, process.platform === "win32" ? "mcp-manager.cmd" : "mcp-manager")) === realpathSync(script))
        return "mcp-manager";
    } catch {
      // not in this directory
    }
  }
  return [process.execPath, script].map((part) => (/\s/.test(part) ? `"${part}"` : part)).join(" ");
}
