import { existsSync } from "node:fs";
import { ConfigEditor } from "../clients/config-editor.js";
import { SCOPES, SERVER_NAME } from "../config/schema.js";
import { isHttpUrl } from "../config/http-url.js";
import { TRANSPORTS } from "../config/transports.js";
import { shownUrl, type Config, type ServerConfig } from "../config/server-config.js";
import { claudeAddCommand } from "../runtime/proxy-entry.js";
import { scriptOf } from "./doctor.js";
import { table } from "./status-table.js";

export interface AddOptions {
  url?: string;
  scope?: string;
  transport?: string;
  port?: string;
  env?: string[];
  cwd?: string;
}

/**
 * `mcp-manager add NAME [options] -- COMMAND ARGS...` (or `--url URL` for a server that runs elsewhere): one server
 * into config.json, edited in place (comments and layout stay) and validated before it is written. Returns what to
 * tell the user, with the line that connects it.
 */
export function addServer(configFile: string, name: string, command: string[], options: AddOptions): string {
  if (!SERVER_NAME.test(name))
    throw new Error(`"${name}" cannot be a server name (letters, digits, ".", "_" and "-"; at most 64; not ending in .session)`);
  if (options.url !== undefined) return addRemoteServer(configFile, name, command, options);
  const [program, ...args] = command;
  if (!program) throw new Error(`give the server's command after --, as in: mcp-manager add ${name} -- npx -y some-mcp-server`);
  const entry: Record<string, unknown> = { command: program, args };
  const transport = options.transport ?? "stdio";
  if (!(TRANSPORTS as readonly string[]).includes(transport))
    throw new Error(`--transport is ${TRANSPORTS.join(", ")}, not "${transport}"`);
  if (transport === "stdio") {
    if (options.port !== undefined) throw new Error("--port is for a server that speaks HTTP (--transport streamable-http or sse)");
  } else {
    if (options.port === undefined) throw new Error(`a server that speaks ${transport} needs --port: where it listens`);
    if (options.scope !== undefined) throw new Error("--scope is for stdio servers; an HTTP server is one process for everyone");
    entry.transport = transport;
    entry.port = Number(options.port);
  }
  if (options.scope !== undefined) {
    if (!(SCOPES as readonly string[]).includes(options.scope)) throw new Error(`--scope is ${SCOPES.join(", ")}, not "${options.scope}"`);
    entry.scope = options.scope;
  }
  if (options.env?.length) entry.env = Object.fromEntries(options.env.map(keyValue));
  if (options.cwd !== undefined) entry.cwd = options.cwd;

  const editor = new ConfigEditor(configFile);
  editor.add(name, entry);
  editor.save();
  const script = scriptOf(program, args, options.cwd);
  const missing = script && !existsSync(script) ? [`note: ${program} would run ${script}, which does not exist (yet)`] : [];
  return [
    `added "${name}" to ${configFile}: ${[program, ...args].join(" ")}`,
    "connect Claude Code to it, in every project:",
    `  ${claudeAddCommand(name, configFile)}`,
    ...missing,
  ].join("\n");
}

/** `mcp-manager add NAME --url URL`: a server already running somewhere, reached through a daemon of its own. */
function addRemoteServer(configFile: string, name: string, command: string[], options: AddOptions): string {
  const url = options.url!;
  if (command.length) throw new Error("give --url or a command after --, not both");
  for (const option of ["port", "scope", "cwd"] as const)
    if (options[option] !== undefined) throw new Error(`--${option} is for a server started here; one given by --url runs elsewhere`);
  if (options.env?.length) throw new Error("--env is for a server started here; one given by --url runs elsewhere");
  if (!isHttpUrl(url)) throw new Error(`--url ${url} is not an http(s) URL`); // the user's own argument, echoed to them alone
  const entry: Record<string, unknown> = { url };
  const transport = options.transport ?? "streamable-http";
  if (transport === "stdio" || !(TRANSPORTS as readonly string[]).includes(transport))
    throw new Error(`--transport for a server given by --url is streamable-http, sse or http, not "${transport}"`);
  if (transport !== "streamable-http") entry.transport = transport;

  const editor = new ConfigEditor(configFile);
  editor.add(name, entry);
  editor.save();
  return [
    `added "${name}" to ${configFile}: ${shownUrl(url)}`,
    "connect Claude Code to it, in every project:",
    `  ${claudeAddCommand(name, configFile)}`,
  ].join("\n");
}

/** `mcp-manager remove NAME`: the server leaves config.json (its daemon is stopped first by the caller). */
export function removeServer(configFile: string, name: string): string {
  const editor = new ConfigEditor(configFile);
  if (!editor.remove(name)) throw new Error(`no server named "${name}" in ${configFile}`);
  editor.save();
  return `removed "${name}" from ${configFile}; client entries that still name it will say so when they start`;
}

/** `mcp-manager list`: every configured server, what it runs and how it is shared, from the config alone. */
export function listServers(config: Config): string {
  const rows = [["SERVER", "KIND", "SCOPE", "PORT", "COMMAND OR URL"]];
  for (const server of Object.values(config.servers)) rows.push(describe(server));
  const where = config.file ?? "the embedded defaults (no config file yet)";
  return `${where}\n\n${table(rows)}\n`;
}

function describe(server: ServerConfig): string[] {
  const port = server.port === undefined ? "-" : String(server.port);
  const disabled = server.disabled ? " (disabled)" : "";
  switch (server.kind) {
    case "builtin":
      return [server.name, `built-in ${server.builtin}${disabled}`, "-", port, "-"];
    case "hosted":
      return [server.name, `stdio${disabled}`, server.scope, port, [server.command, ...server.args].join(" ")];
    case "spawned":
      return [server.name, `${server.transport}${disabled}`, "-", port, [server.command, ...server.args].join(" ")];
    case "remote":
      return [server.name, `remote ${server.transport}${disabled}`, "-", "-", shownUrl(server.url)];
  }
}

function keyValue(pair: string): [string, string] {
  const at = pair.indexOf("=");
  if (at <= 0) throw new Error(`--env takes KEY=VALUE, not "${pair}"`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}
