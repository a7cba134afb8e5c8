import { EMBEDDED_DEFAULTS, parseConfig } from "../config/load.js";
import { readText, writeTextAtomically } from "./atomic-file.js";
import { JsoncDocument } from "./jsonc-document.js";

/** A server taken from a client: a stdio command, or (with `install --http`) an HTTP server by URL. */
export type ImportedServer =
  | { command: string; args: string[]; env: Record<string, string>; cwd?: string; scope: "project" }
  | { url: string; transport: "streamable-http" | "sse" };

/**
 * Adds imported servers to our own config file, edited in place like a client's (the user's comments and
 * layout stay). A missing (or empty) file starts from the embedded defaults, so the built-in memory server stays.
 * The result is validated before it is written: a config that would not load is never written.
 */
export class ConfigEditor {
  private readonly read;
  private readonly doc: JsoncDocument;
  private readonly key: string;
  private changed = false;

  constructor(private readonly path: string) {
    this.read = readText(path);
    const blank = this.read.text.trim() === "";
    this.doc = new JsoncDocument(blank ? JSON.stringify(EMBEDDED_DEFAULTS, null, 2) + "\n" : this.read.text, path);
    this.key = this.doc.value(["mcpServers"]) !== undefined && this.doc.value(["servers"]) === undefined ? "mcpServers" : "servers";
    this.changed = blank;
  }

  /**
   * The name under which `server` (imported from `client`) is configured: its own name when free or when
   * the same server is already there, else `<name>-<client>` (then `-2`, `-3`...).
   */
  place(name: string, client: string, server: ImportedServer): { name: string; added: boolean } {
    const candidates = [name, `${name}-${client}`, ...Array.from({ length: 50 }, (_, index) => `${name}-${client}-${index + 2}`)];
    for (const candidate of candidates) {
      const existing = this.doc.value([this.key, candidate]);
      if (existing === undefined) {
        this.doc.set([this.key, candidate], withoutEmptyEnv(server));
        this.changed = true;
        return { name: candidate, added: true };
      }
      if (sameServer(existing, server)) return { name: candidate, added: false };
    }
    throw new Error(`too many servers named like "${name}" in ${this.path}`);
  }

  /** The name of the built-in memory server in this config, added as `memory` (or the next free name) if absent. */
  builtinMemory(): string {
    const servers = this.servers() as Record<string, { builtin?: unknown } | null>;
    const existing = Object.entries(servers).find(([, entry]) => entry?.builtin === "memory");
    if (existing) return existing[0];
    const name = ["memory", ...Array.from({ length: 50 }, (_, index) => `memory-${index + 2}`)].find(
      (candidate) => !(candidate in servers),
    )!;
    this.doc.set([this.key, name], { builtin: "memory" });
    this.changed = true;
    return name;
  }

  /** The configured servers, as written. */
  servers(): Record<string, unknown> {
    return (this.doc.value([this.key]) ?? {}) as Record<string, unknown>;
  }

  /** Adds a server by hand (`mcp-manager add`); the name must be free. */
  add(name: string, entry: object): void {
    if (this.doc.value([this.key, name]) !== undefined) throw new Error(`"${name}" is already configured in ${this.path}; remove it first`);
    this.doc.set([this.key, name], entry);
    this.changed = true;
  }

  /** Removes a server (`mcp-manager remove`); false if there was none by that name. */
  remove(name: string): boolean {
    if (this.doc.value([this.key, name]) === undefined) return false;
    this.doc.set([this.key, name], undefined);
    this.changed = true;
    return true;
  }

  /** Writes the file if anything changed; validated first. */
  save(): void {
    if (!this.changed) return;
    parseConfig(JSON.parse(JSON.stringify(this.doc.value([]) ?? {})), this.path);
    writeTextAtomically(this.path, this.doc.text, this.read.version);
  }
}

function withoutEmptyEnv(server: ImportedServer): object {
  if (!("env" in server) || Object.keys(server.env).length) return server;
  const { env: _empty, ...rest } = server;
  return rest;
}

/** Whether the configured entry is the same server (so a second client's identical entry shares it). */
function sameServer(existing: unknown, server: ImportedServer): boolean {
  if (!existing || typeof existing !== "object") return false;
  const e = existing as { command?: string; args?: string[]; env?: Record<string, string>; cwd?: string; url?: string; transport?: string };
  if ("url" in server) return e.url === server.url && e.command === undefined && (e.transport ?? "streamable-http") === server.transport;
  const env = e.env ?? {};
  return (
    e.command === server.command &&
    JSON.stringify(e.args ?? []) === JSON.stringify(server.args) &&
    JSON.stringify(Object.entries(env).sort()) === JSON.stringify(Object.entries(server.env).sort()) &&
    (e.cwd ?? undefined) === server.cwd &&
    (e.transport === undefined || e.transport === "stdio")
  );
}
