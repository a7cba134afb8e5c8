import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "jsonc-parser";

export const CLIENTS = ["claude-code", "claude-desktop", "cursor", "vscode", "codex"] as const;
export type ClientName = (typeof CLIENTS)[number];
/**
 * Where a client keeps a server: `user` (every project), `project` (a file in the project, often committed) and,
 * for Claude Code, `local` (one project, kept in `~/.claude.json` under `projects[dir]`: what `claude mcp add`
 * writes without `-s`).
 */
export const INSTALL_SCOPES = ["user", "local", "project"] as const;
export type InstallScope = (typeof INSTALL_SCOPES)[number];
export const isInstallScope = (scope: string): scope is InstallScope => (INSTALL_SCOPES as readonly string[]).includes(scope);

/** One client configuration file: where it is, its format, and where its servers live inside it. */
export interface ClientFile {
  client: ClientName;
  scope: InstallScope;
  path: string;
  format: "json" | "toml";
  /** The key path of the servers object (JSON), or the table prefix (TOML). */
  serversKey: string[];
  /** The project whose servers these are (local and project scopes). */
  project?: string;
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
    ...(scope === "user" ? {} : { project }),
  });
  if (scope === "local" && client !== "claude-code") throw new Error(`only Claude Code has a local scope; use --scope user or project`);
  switch (client) {
    case "claude-code":
      if (scope === "local") return file(join(home, ".claude.json"), "json", ["projects", project, "mcpServers"]);
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

/**
 * The files install and uninstall visit. An explicit scope names one place (`local`: the `--project` given, else
 * every project `~/.claude.json` knows). Without one, Claude Code is visited everywhere it keeps servers: user,
 * every local project, and the working project's `.mcp.json`; other clients in their user configuration.
 */
export function clientFiles(
  client: ClientName,
  scope: InstallScope | undefined,
  projectDir: string | undefined,
  home = homedir(),
): ClientFile[] {
  const here = projectDir ?? process.cwd();
  if (client !== "claude-code") return [clientFile(client, scope ?? "user", here, home)];
  if (scope === "user" || scope === "project") return [clientFile(client, scope, here, home)];
  const withServers = claudeCodeProjects(home)
    .filter((project) => project.hasServers)
    .map((project) => project.dir);
  const locals = (projectDir ? [resolve(projectDir)] : withServers).map((dir) => clientFile(client, "local", dir, home));
  if (scope === "local") return locals;
  return [clientFile(client, "user", here, home), ...locals, clientFile(client, "project", here, home)];
}

/** The projects `~/.claude.json` keeps a record for, in its order, each with whether it has local servers. */
export function claudeCodeProjects(home = homedir()): Array<{ dir: string; hasServers: boolean }> {
  let projects: unknown;
  try {
    projects = (parse(readFileSync(join(home, ".claude.json"), "utf8")) as { projects?: unknown } | undefined)?.projects;
  } catch {
    return []; // no file: nothing local; a malformed one is reported when its user scope is read
  }
  if (!projects || typeof projects !== "object") return [];
  return Object.entries(projects as Record<string, unknown>).map(([dir, value]) => {
    const servers = (value as { mcpServers?: unknown } | null)?.mcpServers;
    return { dir, hasServers: servers !== null && typeof servers === "object" && Object.keys(servers).length > 0 };
  });
}
