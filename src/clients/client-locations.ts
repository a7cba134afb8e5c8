import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const CLIENTS = ["claude-code", "claude-desktop", "cursor", "vscode", "codex"] as const;
export type ClientName = (typeof CLIENTS)[number];
export type InstallScope = "user" | "project";
export const isInstallScope = (scope: string): scope is InstallScope => scope === "user" || scope === "project";

/** One client configuration file: where it is, its format, and where its servers live inside it. */
export interface ClientFile {
  client: ClientName;
  scope: InstallScope;
  path: string;
  format: "json" | "toml";
  /** The key path of the servers object (JSON), or the table prefix (TOML). */
  serversKey: string[];
}

/** The per-user application data directory: %APPDATA%, ~/Library/Application Support, or $XDG_CONFIG_HOME. */
function appData(home: string): string {
  if (process.platform === "win32") return process.env.APPDATA ?? join(home, "AppData", "Roaming");
  if (process.platform === "darwin") return join(home, "Library", "Application Support");
  return process.env.XDG_CONFIG_HOME ?? join(home, ".config");
}

/**
 * Where each client reads its MCP servers: Claude Code's user servers are the top-level
 * `mcpServers` of `~/.claude.json` (not `~/.claude/mcp.json`, which it never reads by itself), its project ones
 * `.mcp.json`; VS Code calls the key `servers`; Codex keeps TOML tables `[mcp_servers.NAME]`.
 */
export function clientFile(client: ClientName, scope: InstallScope, projectDir: string, home = homedir()): ClientFile {
  const project = resolve(projectDir);
  const file = (path: string, format: "json" | "toml" = "json", serversKey = ["mcpServers"]): ClientFile => ({
    client,
    scope,
    path,
    format,
    serversKey,
  });
  switch (client) {
    case "claude-code":
      return scope === "user" ? file(join(home, ".claude.json")) : file(join(project, ".mcp.json"));
    case "claude-desktop":
      if (scope === "project") throw new Error("Claude Desktop has no project configuration; use --scope user");
      return file(join(appData(home), "Claude", "claude_desktop_config.json"));
    case "cursor":
      return scope === "user" ? file(join(home, ".cursor", "mcp.json")) : file(join(project, ".cursor", "mcp.json"));
    case "vscode":
      return scope === "user"
        ? file(join(appData(home), "Code", "User", "mcp.json"), "json", ["servers"])
        : file(join(project, ".vscode", "mcp.json"), "json", ["servers"]);
    case "codex":
      if (scope === "project") throw new Error("Codex reads MCP servers from its user configuration; use --scope user");
      return file(join(process.env.CODEX_HOME ?? join(home, ".codex"), "config.toml"), "toml", ["mcp_servers"]);
  }
}
