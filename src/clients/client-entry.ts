import { isHttpUrl } from "../config/http-url.js";
import { basename } from "node:path";
import { shownUrl } from "../config/server-config.js";
import type { ImportedServer } from "./config-editor.js";
import { runsOfficialMemory } from "./official-memory.js";
import { proxyScript } from "../runtime/entry-points.js";

/** A server entry as clients write it (the `mcpServers` shape, and VS Code's and Codex's variants). */
export interface ClientServerEntry {
  type?: string;
  command?: string;
  args?: unknown;
  env?: unknown;
  cwd?: string;
  url?: string;
  [key: string]: unknown;
}

/** What install does with one entry of a client's file. */
export type EntryVerdict =
  | { kind: "import"; server: ImportedServer }
  /** The official memory server: replaced by the built-in one, its JSONL imported. */
  | { kind: "memory" }
  | { kind: "ours"; target: string }
  | { kind: "leave"; why: string };

/** Keys a stdio entry may have that we can carry over; anything else means the client does something we cannot. */
const CARRIED = new Set(["type", "command", "args", "env", "cwd"]);

/**
 * Decides what to do with an entry: a stdio server is imported (its command, args, env and cwd) and then
 * reached through mcp-proxy; an entry that already runs mcp-proxy is ours; everything else is left as the
 * client has it, with the reason: HTTP servers the client reaches directly, and entries using what only the
 * client understands (`${...}` variables it expands per project, `envFile`, other keys).
 */
export function judgeEntry(entry: unknown, options: { http: boolean } = { http: false }): EntryVerdict {
  if (!entry || typeof entry !== "object" || Array.isArray(entry)) return { kind: "leave", why: "not an object" };
  const e = entry as ClientServerEntry;
  const target = proxyTarget(e);
  if (target) return { kind: "ours", target };
  if (e.url !== undefined || (e.type !== undefined && e.type !== "stdio")) return judgeHttp(e, options.http);
  if (typeof e.command !== "string" || !e.command) return { kind: "leave", why: "no command" };
  const args = e.args ?? [];
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === "string"))
    return { kind: "leave", why: '"args" is not a list of strings' };
  const env = e.env ?? {};
  if (typeof env !== "object" || Array.isArray(env) || !Object.values(env).every((value) => typeof value === "string")) {
    return { kind: "leave", why: '"env" is not a map of strings' };
  }
  const extra = Object.keys(e).filter((key) => !CARRIED.has(key));
  if (extra.length) return { kind: "leave", why: `uses ${extra.map((key) => `"${key}"`).join(", ")}, which only the client understands` };
  if (e.cwd !== undefined && typeof e.cwd !== "string") return { kind: "leave", why: '"cwd" is not a string' };
  const texts = [e.command, ...args, ...Object.values(env as Record<string, string>), e.cwd ?? ""];
  if (texts.some((text) => /\$\{[^}]*\}/.test(text))) {
    return { kind: "leave", why: "uses ${...} variables the client expands for each project or session" };
  }
  if (runsOfficialMemory(e)) return { kind: "memory" };
  // One child per project: a server a client ran per window worked in that window's project, and still does.
  const server: { command: string; args: string[]; env: Record<string, string>; cwd?: string; scope: "project" } = {
    command: e.command,
    args: args,
    env: env as Record<string, string>,
    scope: "project",
  };
  if (e.cwd) server.cwd = e.cwd;
  return { kind: "import", server };
}

/**
 * An HTTP server the client reaches directly is left alone unless `--http` asks to route it through mcp-proxy
 * too; one that needs headers (a token) is always left alone, since the proxy would not send them.
 */
function judgeHttp(e: ClientServerEntry, http: boolean): EntryVerdict {
  if (!http) return { kind: "leave", why: "an HTTP server the client reaches directly; --http routes it through mcp-proxy too" };
  const extra = Object.keys(e).filter((key) => key !== "type" && key !== "url");
  if (extra.length)
    return { kind: "leave", why: `an HTTP server with ${extra.map((key) => `"${key}"`).join(", ")}, which mcp-proxy would not send` };
  if (typeof e.url === "string" && /\$\{[^}]*\}/.test(e.url)) return { kind: "leave", why: "uses ${...} variables the client expands" };
  if (typeof e.url !== "string" || !isHttpUrl(e.url)) return { kind: "leave", why: "no http(s) url" };
  return { kind: "import", server: { url: e.url, transport: e.type === "sse" ? "sse" : "streamable-http" } };
}

/** The `--target` of an entry that launches mcp-proxy (installed bin or script), if it is one. */
export function proxyTarget(entry: ClientServerEntry): string | undefined {
  const args: unknown[] = Array.isArray(entry.args) ? entry.args : [];
  const parts = [entry.command, ...args].filter((part): part is string => typeof part === "string");
  const launchesProxy = parts.some((part) => {
    const name = basename(part.replace(/\\/g, "/"));
    return name === "mcp-proxy" || name === "mcp-proxy.cmd" || /[/\\]dist[/\\]proxy[/\\]index\.js$/.test(part) || part === proxyScript();
  });
  if (!launchesProxy) return undefined;
  const index = parts.indexOf("--target");
  return index >= 0 ? parts[index + 1] : undefined;
}

/** A short, readable form of a command line for the summary. */
export function describeCommand(server: ImportedServer): string {
  if ("url" in server) return `${server.transport} ${shownUrl(server.url)}`;
  const line = [server.command, ...server.args].map((part) => (/\s/.test(part) ? `"${part}"` : part)).join(" ");
  return line.length > 90 ? `${line.slice(0, 87)}...` : line;
}
