import { mkdirSync, chmodSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where config, locks, logs and tokens live: `~/.mcp-session-manager`, or `$MCP_SESSION_MANAGER_HOME`. */
export function homeDir(): string {
  const override = process.env.MCP_SESSION_MANAGER_HOME;
  return override ? resolve(expandHome(override)) : join(homedir(), ".mcp-session-manager");
}

export function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/") || path.startsWith("~\\")) return join(homedir(), path.slice(2));
  return path;
}

export const configPath = (home = homeDir()) => join(home, "config.json");
export const lockPath = (name: string, home = homeDir()) => join(home, `${name}.lock`);
export const logPath = (name: string, home = homeDir()) => join(home, `${name}.log`);
/** A daemon's HTTP on a Unix domain socket, for local clients that speak HTTP. */
export const httpSocketPath = (name: string, home = homeDir()) => join(home, `${name}.sock`);
/** A daemon's session socket (protocol/session-socket.ts), for our proxies. */
export const sessionSocketPath = (name: string, home = homeDir()) => join(home, `${name}.session.sock`);
/** Longest Unix socket path every POSIX system accepts (macOS allows 104 bytes with the terminator). */
const MAX_SOCKET_PATH = 100;
/** Whether a daemon can listen on this Unix socket path: not on Windows, and not beyond the length limit. */
export const canBeUnixSocket = (path: string) => process.platform !== "win32" && Buffer.byteLength(path) <= MAX_SOCKET_PATH;
/** Present while a daemon is stopped on purpose (`mcp-manager stop`): proxies then do not start it. */
export const stopMarkerPath = (name: string, home = homeDir()) => join(home, `${name}.stopped`);
/** The manager's bearer token for mutating API calls, readable by the user alone. */
export const tokenPath = (home = homeDir()) => join(home, "manager.token");
export const managerLockPath = (home = homeDir()) => join(home, "manager.lock");
/** The config as last checked (config/checked-config.ts), so that an unchanged file is not checked again. */
export const checkedConfigPath = (home = homeDir()) => join(home, "config.checked.json");
export const managerLogPath = (home = homeDir()) => join(home, "manager.log");

/**
 * Creates the home directory readable by the user alone; tightens it if it already exists too open. A home
 * another user made (a shared /tmp path, say) is refused: whoever owns it could read or replace what is in it.
 */
export function ensureHome(home = homeDir()): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  if (process.platform === "win32") return home;
  const stat = statSync(home);
  if (stat.uid !== process.getuid!())
    throw new Error(`${home} belongs to another user (uid ${stat.uid}); choose another MCP_SESSION_MANAGER_HOME`);
  if ((stat.mode & 0o077) !== 0) chmodSync(home, 0o700);
  return home;
}
