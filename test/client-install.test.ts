import assert from "node:assert/strict";
import { onCleanup } from "./helpers/cleanup.js";
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { configuredHome, type DaemonHome } from "./helpers/daemon-home.js";
import { FIXTURES } from "./helpers/paths.js";
import { runManagerCli, type CliResult } from "./helpers/manager.js";
import { tempDir } from "./helpers/temp-dir.js";

const PROBE = `${FIXTURES}stdio-probe-server.js`;

interface Machine {
  /** The user's home directory, as the clients see it. */
  user: string;
  daemon: DaemonHome;
  manager(...args: string[]): Promise<CliResult>;
}

/** A temporary user home (HOME) with a temporary mcp-session-manager home inside the test's cleanup. */
function machine(t: TestContext): Machine {
  const user = tempDir(t, "msm-user-");
  const daemon = configuredHome(t, {});
  // Start from no config file at all, as a new user would: install must create it from the defaults.
  unlinkSync(join(daemon.home, "config.json"));
  // The clients' files are found under HOME alone, not wherever this machine's variables point.
  const env: NodeJS.ProcessEnv = { ...daemon.env, HOME: user };
  for (const key of ["XDG_CONFIG_HOME", "APPDATA", "CODEX_HOME"]) delete env[key];
  return { user, daemon, manager: (...args) => runManagerCli(args, { env, cwd: user }) };
}

function put(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const claudeJson = `{
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

const cases: Array<{ client: string; scope?: string; path: (m: Machine) => string; text: string; rewritten: string[]; left: string[] }> = [
  {
    client: "claude-code",
    path: (m) => join(m.user, ".claude.json"),
    text: claudeJson,
    rewritten: ["probe", "windows-tool"],
    left: ["remote", "per-project"],
  },
  {
    client: "claude-code",
    scope: "project",
    path: (m) => join(m.user, ".mcp.json"),
    text: desktopJson,
    rewritten: ["filesystem"],
    left: [],
  },
  {
    client: "claude-desktop",
    path: (m) => join(m.user, ".config", "Claude", "claude_desktop_config.json"),
    text: desktopJson,
    rewritten: ["filesystem"],
    left: [],
  },
  { client: "cursor", path: (m) => join(m.user, ".cursor", "mcp.json"), text: cursorJson, rewritten: ["sqlite"], left: [] },
  {
    client: "vscode",
    path: (m) => join(m.user, ".config", "Code", "User", "mcp.json"),
    text: vscodeJsonc,
    rewritten: ["everything"],
    left: ["github", "with-input"],
  },
  { client: "codex", path: (m) => join(m.user, ".codex", "config.toml"), text: codexToml, rewritten: ["docs"], left: ["remote"] },
];

describe("install and uninstall, per client", () => {
  for (const c of cases) {
    test(`${c.client}${c.scope ? ` (${c.scope})` : ""}: install rewrites stdio entries only, a second run changes nothing, uninstall restores the bytes`, async (t) => {
      const m = machine(t);
      const file = put(c.path(m), c.text);
      const scope = c.scope ? ["--scope", c.scope] : [];

      const dry = await m.manager("install", "--client", c.client, ...scope, "--dry-run");
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /dry run: nothing was written/);
      assert.equal(readFileSync(file, "utf8"), c.text, "a dry run writes nothing");

      const first = await m.manager("install", "--client", c.client, ...scope);
      assert.equal(first.code, 0, first.stderr);
      for (const name of c.rewritten) assert.match(first.stdout, new RegExp(`~ ${name}: .*->  mcp-proxy --target ${name}`));
      for (const name of c.left) assert.match(first.stdout, new RegExp(`    ${name}: left alone \\(`));
      const installed = readFileSync(file, "utf8");
      assert.notEqual(installed, c.text);
      for (const line of c.text.split(/\r?\n/)) {
        // Every line of the file that is not part of a rewritten entry is still there, as it was.
        if (
          c.rewritten.some((name) => line.includes(`"${name}"`) || line.includes(`mcp_servers.${name}`)) ||
          /"(command|args|env|type)"|^(command|args)|DOCS_MODE|\]$/.test(line.trim())
        )
          continue;
        assert.ok(installed.includes(line), `kept: ${line}`);
      }
      if (c.text.includes("\r\n")) assert.ok(!/[^\r]\n/.test(installed), "CRLF line endings kept");
      const config = JSON.parse(readFileSync(join(m.daemon.home, "config.json"), "utf8"));
      assert.equal(config.servers.memory.builtin, "memory", "the new config keeps the embedded default");
      for (const name of c.rewritten) {
        assert.ok(config.servers[name]?.command, `${name} imported`);
        assert.equal(config.servers[name].scope, "project", `${name}: one child per project, as the client ran one per window`);
      }

      const second = await m.manager("install", "--client", c.client, ...scope);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /nothing to change/);
      assert.equal(readFileSync(file, "utf8"), installed, "the second run changes nothing");

      const undone = await m.manager("uninstall", "--client", c.client, ...scope);
      assert.equal(undone.code, 0, undone.stderr);
      assert.equal(readFileSync(file, "utf8"), c.text, "byte for byte as before");
      assert.equal(readdirSync(join(m.daemon.home, "backups")).length, 1, "one backup, from the install that wrote");
    });
  }

  test("a malformed client file is never overwritten: a clear error, the file untouched", async (t) => {
    const m = machine(t);
    const broken = '{\n  "mcpServers": {\n    "x": {"command": "a",}\n  \n';
    const json = put(join(m.user, ".claude.json"), broken);
    const result = await m.manager("install", "--client", "claude-code");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\.claude\.json is not valid JSON \(\w+ at line \d+, column \d+\); it was left untouched/);
    assert.equal(readFileSync(json, "utf8"), broken);
    const toml = put(join(m.user, ".codex", "config.toml"), '[mcp_servers.x]\ncommand = "a\n');
    const tomlResult = await m.manager("install", "--client", "codex");
    assert.equal(tomlResult.code, 1);
    assert.match(tomlResult.stderr, /config\.toml is not valid TOML/);
    assert.equal(readFileSync(toml, "utf8"), '[mcp_servers.x]\ncommand = "a\n');
    const wrongShape = put(join(m.user, ".cursor", "mcp.json"), '{"mcpServers": []}');
    assert.match((await m.manager("install", "--client", "cursor")).stderr, /"mcpServers" in .* is not an object/);
    assert.equal(readFileSync(wrongShape, "utf8"), '{"mcpServers": []}');
    assert.match((await m.manager("install", "--client", "zed")).stderr, /unknown client "zed"/);
  });

  test("--http also routes HTTP servers through mcp-proxy, except those that need headers", async (t) => {
    const m = machine(t);
    const text =
      '{"mcpServers": {"web": {"type": "http", "url": "http://127.0.0.1:4000/mcp"}, "legacy": {"type": "sse", "url": "http://127.0.0.1:4001/sse"}, "authed": {"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": "Bearer t"}}}}';
    const file = put(join(m.user, ".cursor", "mcp.json"), text);
    const plain = await m.manager("install", "--client", "cursor", "--dry-run");
    assert.match(plain.stdout, /web: left alone \(an HTTP server the client reaches directly; --http routes it through mcp-proxy too\)/);
    const result = await m.manager("install", "--client", "cursor", "--http");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /~ web: streamable-http http:\/\/127\.0\.0\.1:4000\/mcp {2}-> {2}mcp-proxy --target web/);
    assert.match(result.stdout, /~ legacy: sse http:\/\/127\.0\.0\.1:4001\/sse {2}-> {2}mcp-proxy --target legacy/);
    assert.match(result.stdout, /authed: left alone \(an HTTP server with "headers", which mcp-proxy would not send\)/);
    const config = JSON.parse(readFileSync(join(m.daemon.home, "config.json"), "utf8"));
    assert.deepEqual(config.servers.web, { url: "http://127.0.0.1:4000/mcp", transport: "streamable-http" });
    assert.deepEqual(config.servers.legacy, { url: "http://127.0.0.1:4001/sse", transport: "sse" });
    const entry = JSON.parse(readFileSync(file, "utf8")).mcpServers.web;
    assert.equal(entry.type, "stdio");
    assert.deepEqual(entry.args.slice(-2), ["--target", "web"]);
    assert.equal((await m.manager("uninstall", "--client", "cursor")).code, 0);
    assert.equal(readFileSync(file, "utf8"), text);
  });

  test("a name our config already uses for another server is imported under the client's name", async (t) => {
    const m = machine(t);
    put(
      join(m.user, ".cursor", "mcp.json"),
      `{"mcpServers": {"memory": {"command": ${JSON.stringify(process.execPath)}, "args": [${JSON.stringify(PROBE)}]}}}`,
    );
    const result = await m.manager("install", "--client", "cursor");
    assert.match(result.stdout, /memory \(as memory-cursor: that name was taken\)/);
    const entry = JSON.parse(readFileSync(join(m.user, ".cursor", "mcp.json"), "utf8")).mcpServers.memory;
    assert.deepEqual(entry.args.slice(-2), ["--target", "memory-cursor"]);
  });

  test("the rewritten Claude Code entry, launched by a real MCP client, reaches the server through the proxy and the daemon", async (t) => {
    const m = machine(t);
    const file = put(join(m.user, ".claude.json"), claudeJson);
    assert.equal((await m.manager("install", "--client", "claude-code")).code, 0);
    const entry = JSON.parse(readFileSync(file, "utf8")).mcpServers.probe as {
      command: string;
      args: string[];
      env: Record<string, string>;
    };
    assert.ok(entry.args[0]!.endsWith("/dist/proxy/index.js"));

    const client = new Client({ name: "install-test", version: "1.0.0" });
    const transport = new StdioClientTransport({
      command: entry.command,
      args: entry.args,
      env: { ...(process.env as Record<string, string>), ...entry.env },
      stderr: "pipe",
    });
    await client.connect(transport);
    onCleanup(t, () => client.close()); // before the home is removed: a live proxy would restart the daemon
    const tools = await client.listTools();
    assert.ok(tools.tools.some((tool) => tool.name === "echo"));
    const answer = await client.callTool({ name: "echo", arguments: { message: "through the installed entry" } });
    assert.deepEqual(answer.content, [{ type: "text", text: "through the installed entry" }]);
    assert.ok(m.daemon.lockedPid("probe"), "served by the shared daemon");
  });
});
