import { homedir } from "node:os";
import { resolve } from "node:path";
import type { ParsedEntry, Scope } from "./schema.js";
import type { ManagerSettings } from "./manager-settings.js";
import { resolveTransport, type HttpTransport } from "./transports.js";
import { ConfigError } from "./config-error.js";

export const DEFAULT_START_TIMEOUT_MS = 30_000;
export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_CHILD_IDLE_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MEMORY_PORT = 3100;
export const DEFAULT_MAX_SESSIONS = 500;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** What every configured server has, whatever its kind, with defaults applied. */
interface ServerCommon {
  name: string;
  /** Added to the environment of what runs for this server (the daemon and its children). */
  env: Record<string, string>;
  startTimeoutMs: number;
  /** A daemon session with no request and no open stream for this long is ended (clients rarely DELETE). */
  sessionIdleTimeoutMs: number;
  /** A project's child (or a shared child of another handshake than the one used last) with no sessions left is stopped after this long. */
  childIdleTimeoutMs: number;
  /** A daemon being replaced finishes the calls it has in flight for at most this long (see daemon/drain.ts). */
  drainTimeoutMs: number;
  /** Sessions one daemon serves at most (a client that opens sessions and never ends them is bounded). */
  maxSessions: number;
  disabled: boolean;
}

interface Command {
  command: string;
  args: string[];
  /** The entry's own working directory (`~` expanded), if it names one. */
  cwd?: string;
}

/** A stdio server, hosted and shared by our daemon (`mcp-manager daemon NAME`). */
export interface HostedServer extends ServerCommon, Command {
  kind: "hosted";
  transport: "stdio";
  scope: Scope;
  /** Where our daemon listens when the entry fixes a port; otherwise the system picks one and the lock names it. */
  port?: number;
  url?: string;
}

/** The built-in memory server, hosted by our daemon. */
export interface BuiltinServer extends ServerCommon {
  kind: "builtin";
  builtin: "memory";
  transport: "streamable-http";
  port: number;
  url: string;
}

/** A server that speaks HTTP itself: our daemon starts it from its command, supervises it and relays to it. */
export interface SpawnedHttpServer extends ServerCommon, Command {
  kind: "spawned";
  transport: HttpTransport;
  port: number;
  url: string;
}

/** A server that runs elsewhere, given by URL: never started here; our daemon only relays to it. */
export interface RemoteServer extends ServerCommon {
  kind: "remote";
  transport: HttpTransport;
  port: number;
  url: string;
}

/** A configured server with every default applied: what the rest of the program works with. */
export type ServerConfig = HostedServer | BuiltinServer | SpawnedHttpServer | RemoteServer;

/**
 * Where our daemon listens when the entry fixes it: a stdio server with a port, the built-in server. An HTTP
 * server's port is the server's own; its daemon, like any other, listens where the system says (its lock names it).
 */
export function fixedDaemonUrl(server: ServerConfig): { url: string; port: number } | undefined {
  switch (server.kind) {
    case "hosted":
    case "builtin":
      return server.url === undefined ? undefined : { url: server.url, port: server.port! };
    case "spawned":
    case "remote":
      return undefined;
  }
}
/**
 * The port on this machine the entry claims, and the URL that reaches it: our daemon's fixed port, or the port
 * an HTTP server started here listens on. None for a remote server, whose port is another machine's (or a
 * server someone else runs), nor for a daemon whose port the system picks.
 */
export function portHeldHere(server: ServerConfig): { url: string; port: number } | undefined {
  return server.kind === "spawned" ? { url: server.url, port: server.port } : fixedDaemonUrl(server);
}
/**
 * Whether a new daemon may start while the old one drains: not for an HTTP server, which holds its configured port
 * until its daemon stops it. That daemon is stopped, then started again.
 */
export const canDrain = (server: ServerConfig): boolean => server.kind !== "spawned";
/** A remote server's URL as logs, status and doctor show it: without user, password or query, which may hold a key. */
export function shownUrl(url: string): string {
  if (!URL.canParse(url)) return "(not a URL)";
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}${parsed.search ? "?..." : ""}`;
}
/** A server given by URL runs elsewhere: its daemon starts and stops, the server itself is never touched. */
export const isRemote = (server: ServerConfig): server is RemoteServer => server.kind === "remote";
/** What `--start-all`, `/start-all` and `stop --all` act on: every server that is not disabled. */
export const isStartable = (server: ServerConfig): boolean => !server.disabled;
/** The command line a server runs, for logs and status; none for a built-in or remote one. */
export const commandLine = (server: ServerConfig): string | undefined =>
  server.kind === "hosted" || server.kind === "spawned" ? [server.command, ...server.args].join(" ") : undefined;

/** The configuration in force: the manager's settings and every server, with defaults applied. */
export interface Config {
  /** The file the config came from, or undefined when the embedded defaults are in use. */
  file?: string;
  manager: ManagerSettings;
  servers: Record<string, ServerConfig>;
}

/** Turns a validated config entry into the server it describes (the schema has ruled out impossible ones). */
export function normalizeEntry(name: string, entry: ParsedEntry, expandHome: (p: string) => string): ServerConfig {
  const common: ServerCommon = {
    name,
    env: entry.env,
    startTimeoutMs: entry.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    sessionIdleTimeoutMs: entry.sessionIdleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS,
    childIdleTimeoutMs: entry.childIdleTimeoutMs ?? DEFAULT_CHILD_IDLE_TIMEOUT_MS,
    maxSessions: entry.maxSessions ?? DEFAULT_MAX_SESSIONS,
    drainTimeoutMs: entry.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    disabled: entry.disabled,
  };
  if (entry.builtin) {
    const port = entry.port ?? DEFAULT_MEMORY_PORT;
    return { ...common, kind: "builtin", builtin: entry.builtin, transport: "streamable-http", port, url: `http://127.0.0.1:${port}/mcp` };
  }
  const transport = resolveTransport(entry);
  if (entry.url) return { ...common, kind: "remote", transport: transport as HttpTransport, url: entry.url, port: portOf(entry.url) };
  // A relative directory is the home directory's: never whichever directory the process that starts it is in.
  const cwd = entry.cwd ? { cwd: resolve(homedir(), expandHome(entry.cwd)) } : {};
  const command: Command = { command: entry.command!, args: entry.args, ...cwd };
  if (transport === "stdio") {
    // A stdio server with a port: our daemon listens there (at /mcp), so it can be found even without its lock.
    const fixed = entry.port === undefined ? {} : { port: entry.port, url: `http://127.0.0.1:${entry.port}/mcp` };
    return { ...common, ...command, ...fixed, kind: "hosted", transport, scope: entry.scope ?? "shared" };
  }
  const path = entry.path ?? (transport === "sse" ? "/sse" : "/mcp");
  return { ...common, ...command, kind: "spawned", transport, port: entry.port!, url: `http://127.0.0.1:${entry.port}${path}` };
}

function portOf(url: string): number {
  const parsed = new URL(url);
  if (parsed.port) return Number(parsed.port);
  return parsed.protocol === "https:" ? 443 : 80;
}

/** The server `name` of `config`; a ConfigError naming the servers there are when it has none of that name. */
export function findServer(config: Config, name: string): ServerConfig {
  const server = config.servers[name];
  if (!server) {
    const known = Object.keys(config.servers);
    throw new ConfigError(
      `no server named "${name}" in ${config.file ?? "the embedded defaults"}` +
        (known.length ? ` (configured: ${known.join(", ")})` : " (no servers are configured)"),
    );
  }
  return server;
}
