import type { ServerConfig } from "../config/server-config.js";
import type { ChildSpec } from "../daemon/child-connection.js";

/**
 * What a starter (a proxy, the manager) hands the daemon it spawns, through its environment:
 * - the server's entry as it last loaded it, so that a daemon started while someone is editing config.json runs
 *   the last good entry instead of failing on the file;
 * - the project of the session that waits for it (a proxy's only), so that the daemon can start that session's
 *   child ahead (daemon/spare-child.ts). The daemon checks it like any project a session names;
 * - the server process the starter spawned ahead for the daemon, if it did (runtime/first-child.ts).
 */
const VARIABLE = "MCP_SESSION_MANAGER_KEPT_ENTRY";
const FIRST_PROJECT = "MCP_SESSION_MANAGER_FIRST_PROJECT";
const FIRST_CHILD = "MCP_SESSION_MANAGER_FIRST_CHILD";

/** A server process a starter spawned ahead for the daemon: its stdin, stdout and stderr are the daemon's fds 3-5. */
export interface HandedChild {
  pid: number;
  /** Its start time (process-identity.ts), so that a recycled pid is never taken for it. */
  started?: string;
  /** What it was started as: the daemon takes it only if it would start the same. */
  spec: ChildSpec;
}

export function handedChildEnv(child: HandedChild): Record<string, string> {
  return { [FIRST_CHILD]: JSON.stringify(child) };
}

/** The server process handed down by the starter, taken out of the environment so that no server inherits it. */
export function takeHandedChild(): HandedChild | undefined {
  const text = process.env[FIRST_CHILD];
  delete process.env[FIRST_CHILD];
  if (!text) return undefined;
  try {
    const child = JSON.parse(text) as Partial<HandedChild> | null;
    const spec = child?.spec;
    const shaped =
      Number.isInteger(child?.pid) && typeof spec?.command === "string" && Array.isArray(spec.args) && typeof spec.env === "object";
    return shaped ? (child as HandedChild) : undefined;
  } catch {
    return undefined;
  }
}

/** The environment that carries `server` to its daemon. */
export function keptEntryEnv(server: ServerConfig): Record<string, string> {
  return { [VARIABLE]: JSON.stringify(server) };
}

/** The environment that tells our daemon which project its first session works in (for its spare child). */
export function firstProjectEnv(server: ServerConfig, project: string | undefined): Record<string, string> {
  return project ? { [FIRST_PROJECT]: project } : {};
}

/** The first session's project as the starter said it, taken out of the environment like the entry. */
export function takeFirstProject(): string | undefined {
  const project = process.env[FIRST_PROJECT];
  delete process.env[FIRST_PROJECT];
  return project || undefined;
}

/** The entry a starter handed over for `name`, taken out of the environment so the server never sees it. */
export function takeKeptEntry(name: string): ServerConfig | undefined {
  const text = process.env[VARIABLE];
  delete process.env[VARIABLE];
  if (!text) return undefined;
  try {
    const entry = JSON.parse(text) as ServerConfig;
    // What our own starter wrote: the entry of this name, the built-in one, or a server with its command (an HTTP
    // server with its port and URL too).
    const command = "command" in entry && typeof entry.command === "string" && Array.isArray(entry.args);
    const http = entry.kind === "spawned" && typeof entry.port === "number" && typeof entry.url === "string";
    const shaped = entry.kind === "builtin" || (entry.kind === "hosted" && command) || (http && command);
    return entry?.name === name && shaped ? entry : undefined;
  } catch {
    return undefined;
  }
}
