import { hostedByUs, type ServerConfig } from "../config/server-config.js";

/**
 * A starter (a proxy, the manager) hands the daemon it spawns the server's entry as it last loaded it, so that a
 * daemon started while someone is editing config.json runs the last good entry instead of failing on the file.
 */
const VARIABLE = "MCP_SESSION_MANAGER_KEPT_ENTRY";

/** The environment that carries `server` to its daemon (our own daemons only). */
export function keptEntryEnv(server: ServerConfig): Record<string, string> {
  return hostedByUs(server) ? { [VARIABLE]: JSON.stringify(server) } : {};
}

/** The entry a starter handed over for `name`, taken out of the environment so the server never sees it. */
export function takeKeptEntry(name: string): ServerConfig | undefined {
  const text = process.env[VARIABLE];
  delete process.env[VARIABLE];
  if (!text) return undefined;
  try {
    const entry = JSON.parse(text) as ServerConfig;
    return entry?.name === name && hostedByUs(entry) ? entry : undefined;
  } catch {
    return undefined;
  }
}
