import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PROBE_SERVER } from "./paths.js";

/** Client configuration files as people have them: each client's format, comments, CRLF, Windows paths. */

export const PROBE = PROBE_SERVER;

/** Writes `text` at `path`, making its directory. */
export function put(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

export interface ClientCase {
  client: string;
  scope?: string;
  /** Where the client keeps the file, under a user home. */
  path: (user: string) => string;
  text: string;
  rewritten: string[];
  left: string[];
}

export const claudeJson = `{
  "numStartups": 41,
  "theme": "dark",
  "mcpServers": {
    "probe": {
      "type": "stdio",
      "command": ${JSON.stringify(process.execPath)},
      "args": [${JSON.stringify(PROBE)}],
      "env": {}
    },
    "windows-tool": {"command": "C:\\\\Program Files\\\\nodejs\\\\node.exe", "args": ["C:\\\\Users\\\\me\\\\tools\\\\server.js", "--root", "D:\\\\work"]},
    "remote": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer x"}},
    "per-project": {"command": "uvx", "args": ["indexer", "\${CLAUDE_PROJECT_DIR}"]}
  },
  "projects": {
    "/home/me/src/app": {"allowedTools": [], "mcpServers": {}}
  },
  "tipsHistory": {"memory": 3}
}
`;

const desktopJson = `{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "C:\\\\Users\\\\me\\\\Desktop"],
      "env": {"DEBUG": "1"}
    }
  }
}`;

const cursorJson = `{\n\t"mcpServers": {\n\t\t"sqlite": {\n\t\t\t"command": "uvx",\n\t\t\t"args": ["mcp-server-sqlite", "--db-path", "C:\\\\data\\\\app.db"]\n\t\t}\n\t}\n}\n`;

const vscodeJsonc = [
  "// VS Code MCP servers",
  "{",
  '    "inputs": [',
  '        { "type": "promptString", "id": "token", "description": "API token", "password": true }',
  "    ],",
  '    "servers": {',
  "        // the one everyone uses",
  '        "everything": { "type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"] },',
  '        "github": { "type": "http", "url": "https://api.githubcopilot.com/mcp/" },',
  '        "with-input": { "type": "stdio", "command": "srv", "env": { "TOKEN": "${input:token}" } },',
  "    },",
  "}",
  "",
].join("\r\n");

const codexToml = `# Codex configuration
model = "o4-mini"
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp", "C:\\\\docs"]

[mcp_servers.docs.env]
DOCS_MODE = "full" # keep full text

# a remote one
[mcp_servers.remote]
url = "https://mcp.example.com/mcp"

[profiles.fast]
model = "o4-mini"
`;

export const clientCases: ClientCase[] = [
  {
    client: "claude-code",
    path: (user) => join(user, ".claude.json"),
    text: claudeJson,
    rewritten: ["probe", "windows-tool"],
    left: ["remote", "per-project"],
  },
  {
    client: "claude-code",
    scope: "project",
    path: (user) => join(user, ".mcp.json"),
    text: desktopJson,
    rewritten: ["filesystem"],
    left: [],
  },
  {
    client: "claude-desktop",
    path: (user) => join(user, ".config", "Claude", "claude_desktop_config.json"),
    text: desktopJson,
    rewritten: ["filesystem"],
    left: [],
  },
  { client: "cursor", path: (user) => join(user, ".cursor", "mcp.json"), text: cursorJson, rewritten: ["sqlite"], left: [] },
  {
    client: "vscode",
    path: (user) => join(user, ".config", "Code", "User", "mcp.json"),
    text: vscodeJsonc,
    rewritten: ["everything"],
    left: ["github", "with-input"],
  },
  { client: "codex", path: (user) => join(user, ".codex", "config.toml"), text: codexToml, rewritten: ["docs"], left: ["remote"] },
];
