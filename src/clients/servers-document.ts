import { parse as parseToml } from "smol-toml";
import type { ProxyEntry } from "../runtime/proxy-entry.js";
import { JsoncDocument, MalformedFile } from "./jsonc-document.js";

/**
 * The servers of one client file, edited as text so that everything else in the file stays byte for byte:
 * read the entries, take an entry's exact text, replace it with a proxy entry, put the old text back.
 */
export interface ServersDocument {
  readonly text: string;
  entries(): Record<string, unknown>;
  /** The exact text of one entry in the file. */
  raw(name: string): string | undefined;
  /** Why the entry cannot be rewritten in place, if it cannot. */
  cannotRewrite(name: string): string | undefined;
  rewrite(name: string, entry: ProxyEntry & { type?: string }): void;
  restore(name: string, raw: string): void;
}

/** JSON and JSONC clients: Claude Code, Claude Desktop, Cursor, VS Code. */
export class JsonServers implements ServersDocument {
  private readonly doc: JsoncDocument;

  constructor(
    text: string,
    path: string,
    private readonly key: string[],
  ) {
    this.doc = new JsoncDocument(text, path);
    const servers = this.doc.value(key);
    if (servers !== undefined && (typeof servers !== "object" || servers === null || Array.isArray(servers))) {
      throw new MalformedFile(`"${key.join(".")}" in ${path} is not an object; the file was left untouched`);
    }
  }

  get text(): string {
    return this.doc.text;
  }

  entries(): Record<string, unknown> {
    return (this.doc.value(this.key) as Record<string, unknown> | undefined) ?? {};
  }

  raw(name: string): string | undefined {
    return this.doc.raw([...this.key, name]);
  }

  cannotRewrite(): undefined {
    return undefined;
  }

  rewrite(name: string, entry: ProxyEntry & { type?: string }): void {
    this.doc.set([...this.key, name], entry);
  }

  restore(name: string, raw: string): void {
    this.doc.replaceRaw([...this.key, name], raw);
  }
}

/**
 * Codex's TOML: each server is a table `[mcp_servers.NAME]` (with an optional `[mcp_servers.NAME.env]`). The
 * text of an entry runs from its header to its last key line; comments and blank lines after it stay put.
 */
export class TomlServers implements ServersDocument {
  private parsed: Record<string, unknown> = {};

  constructor(
    public text: string,
    private readonly path: string,
  ) {
    this.parse();
  }

  entries(): Record<string, unknown> {
    const servers = this.parsed.mcp_servers;
    return servers && typeof servers === "object" && !Array.isArray(servers) ? (servers as Record<string, unknown>) : {};
  }

  raw(name: string): string | undefined {
    const range = this.range(name);
    return range ? this.text.slice(range.start, range.end) : undefined;
  }

  cannotRewrite(name: string): string | undefined {
    return this.range(name) ? undefined : `not written as a [mcp_servers.${name}] table`;
  }

  rewrite(name: string, entry: ProxyEntry): void {
    const eol = this.text.includes("\r\n") ? "\r\n" : "\n";
    const lines = [
      `[mcp_servers.${tomlKey(name)}]`,
      `command = ${JSON.stringify(entry.command)}`,
      `args = [${entry.args.map((arg) => JSON.stringify(arg)).join(", ")}]`,
      ...(entry.env
        ? [
            `env = { ${Object.entries(entry.env)
              .map(([key, value]) => `${tomlKey(key)} = ${JSON.stringify(value)}`)
              .join(", ")} }`,
          ]
        : []),
    ];
    this.splice(name, lines.join(eol) + eol);
  }

  restore(name: string, raw: string): void {
    this.splice(name, raw);
  }

  private splice(name: string, replacement: string): void {
    const range = this.range(name);
    if (!range) throw new Error(`[mcp_servers.${name}] is not in ${this.path}`);
    this.text = this.text.slice(0, range.start) + replacement + this.text.slice(range.end);
    this.parse();
  }

  private parse(): void {
    try {
      this.parsed = parseToml(this.text);
    } catch (error) {
      const first = (error as Error).message.split("\n")[0];
      throw new MalformedFile(`${this.path} is not valid TOML (${first}); it was left untouched`);
    }
  }

  /** From the table's header line to the end of its last key line (its env subtable included). */
  private range(name: string): { start: number; end: number } | undefined {
    const lines = this.text.split(/(?<=\n)/);
    const own = new RegExp(`^\\s*\\[\\s*mcp_servers\\s*\\.\\s*(?:${escape(name)}|"${escape(name)}"|'${escape(name)}')\\s*(\\.[^\\]]*)?\\]`);
    let offset = 0;
    let start: number | undefined;
    let end: number | undefined;
    for (const line of lines) {
      const header = /^\s*\[/.test(line);
      if (start === undefined) {
        if (header && own.test(line) && !own.exec(line)![1]) start = end = offset;
      } else if (header && !own.test(line)) {
        break;
      }
      if (start !== undefined && !/^\s*(#.*)?\r?$/.test(line.replace(/\n$/, ""))) end = offset + line.length;
      offset += line.length;
    }
    return start === undefined ? undefined : { start, end: end! };
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}
