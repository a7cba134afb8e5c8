import { homedir } from "node:os";
import { join } from "node:path";
import { replaceFile } from "../files/replace-file.js";
import type { Config } from "../config/server-config.js";
import { proxyEntry, type ProxyEntry } from "../runtime/proxy-entry.js";

/** Where `generate-config` has always written: a file for `claude --mcp-config`, which Claude Code does not read by itself. */
export const defaultGeneratedPath = () => join(homedir(), ".claude", "mcp.json");

/** `{"mcpServers": {...}}` with every enabled server of the config reached through mcp-proxy. */
export function generateConfig(config: Config): { mcpServers: Record<string, ProxyEntry> } {
  const mcpServers: Record<string, ProxyEntry> = {};
  for (const server of Object.values(config.servers)) {
    if (!server.disabled) mcpServers[server.name] = proxyEntry(server.name, config.file);
  }
  return { mcpServers };
}

/** Writes the generated file atomically (a reader never sees half of it), user-only. */
export function writeGenerated(file: string, content: unknown): void {
  replaceFile(file, JSON.stringify(content, null, 2) + "\n");
}
