import assert from "node:assert/strict";
import { onCleanup } from "../helpers/cleanup.js";
import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { configuredHome, type DaemonHome } from "../helpers/daemon-home.js";
import { claudeJson, put } from "../helpers/client-files.js";
import { runManagerCli, type CliResult } from "../helpers/manager.js";
import { tempDir } from "../helpers/temp-dir.js";

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

describe("install and uninstall from the command line", () => {
  test("claude-code: --dry-run, install, a second run, uninstall; what each prints and its exit code", async (t) => {
    const m = machine(t);
    const file = put(join(m.user, ".claude.json"), claudeJson);
    const dry = await m.manager("install", "--client", "claude-code", "--scope", "user", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: nothing was written/);
    assert.equal(readFileSync(file, "utf8"), claudeJson, "a dry run writes nothing");
    const first = await m.manager("install", "--client", "claude-code", "--scope", "user");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /~ probe: .*-> {2}mcp-proxy --target probe/);
    assert.match(first.stdout, /undo with: mcp-manager uninstall --client claude-code\n/);
    const second = await m.manager("install", "--client", "claude-code", "--scope", "user");
    assert.match(second.stdout, /nothing to change/);
    const undone = await m.manager("uninstall", "--client", "claude-code", "--scope", "user");
    assert.equal(undone.code, 0, undone.stderr);
    assert.equal(readFileSync(file, "utf8"), claudeJson, "byte for byte as before");
    assert.equal(readdirSync(join(m.daemon.home, "backups")).length, 1, "one backup, from the install that wrote");
  });

  test("a malformed client file: one sentence on stderr, exit code 1, the file untouched; an unknown client named", async (t) => {
    const m = machine(t);
    const broken = '{\n  "mcpServers": {\n    "x": {"command": "a",}\n  \n';
    const json = put(join(m.user, ".claude.json"), broken);
    const result = await m.manager("install", "--client", "claude-code");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\.claude\.json is not valid JSON \(a closing } is missing at line 5, column 1\); it was left untouched/);
    assert.equal(readFileSync(json, "utf8"), broken);
    assert.match((await m.manager("install", "--client", "zed")).stderr, /unknown client "zed"/);
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
