import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { install, uninstall } from "../../src/clients/install.js";
import type { ClientName, InstallScope } from "../../src/clients/client-locations.js";
import { MalformedFile } from "../../src/clients/jsonc-document.js";
import { PROBE, clientCases, put } from "../helpers/client-files.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * Install and uninstall in-process, on real files in a temporary user home: the file editing itself (formats,
 * comments, CRLF, byte-for-byte restore). The command line around it is tested in test/client-install.test.ts.
 */
function machine(t: TestContext) {
  const user = tempDir(t, "msm-user-");
  const home = tempDir(t, "msm-home-");
  const saved = { ...process.env };
  // The clients' files are found under HOME alone, not wherever this machine's variables point.
  process.env.HOME = user;
  process.env.MCP_SESSION_MANAGER_HOME = home;
  for (const key of ["XDG_CONFIG_HOME", "APPDATA", "CODEX_HOME"]) delete process.env[key];
  // A PATH with node alone: whether mcp-proxy is installed on this machine does not change what is said.
  process.env.PATH = dirname(process.execPath);
  const cwd = process.cwd();
  t.after(() => {
    process.chdir(cwd);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });
  const configFile = join(home, "config.json");
  const options = (client: string, scope: string | undefined, extra: { dryRun?: boolean; http?: boolean } = {}) => ({
    client: client as ClientName,
    scope: (scope ?? "user") as InstallScope,
    projectDir: user,
    dryRun: Boolean(extra.dryRun),
    http: Boolean(extra.http),
    home,
  });
  return {
    user,
    home,
    configFile,
    install: (client: string, scope?: string, extra?: { dryRun?: boolean; http?: boolean }) =>
      install({ ...options(client, scope, extra), configFile }),
    uninstall: (client: string, scope?: string) => uninstall(options(client, scope)),
    /** Install or uninstall as the command line calls them: no scope or project unless given. */
    run: (action: typeof install | typeof uninstall, given: { client: string; scope?: string; projectDir?: string; dryRun?: boolean }) =>
      action({
        client: given.client as ClientName,
        scope: given.scope as InstallScope | undefined,
        projectDir: given.projectDir,
        dryRun: Boolean(given.dryRun),
        home,
        configFile,
      }),
    /** Works from `dir`, as a command started there (the project scope's default). */
    within: (dir: string) => process.chdir(dir),
  };
}

describe("client files: install and uninstall, per client", () => {
  for (const c of clientCases) {
    test(`${c.client}${c.scope ? ` (${c.scope})` : ""}: install rewrites stdio entries only, a second run changes nothing, uninstall restores the bytes`, (t) => {
      const m = machine(t);
      const file = put(c.path(m.user), c.text);

      assert.match(m.install(c.client, c.scope, { dryRun: true }), /dry run: nothing was written/);
      assert.equal(readFileSync(file, "utf8"), c.text, "a dry run writes nothing");

      const first = m.install(c.client, c.scope);
      for (const name of c.rewritten) assert.match(first, new RegExp(`~ ${name}: .*->  mcp-proxy --target ${name}`));
      for (const name of c.left) assert.match(first, new RegExp(`    ${name}: left alone \\(`));
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
      const config = JSON.parse(readFileSync(m.configFile, "utf8"));
      assert.equal(config.servers.memory.builtin, "memory", "the new config keeps the embedded default");
      for (const name of c.rewritten) {
        assert.ok(config.servers[name]?.command, `${name} imported`);
        assert.equal(config.servers[name].scope, "project", `${name}: one child per project, as the client ran one per window`);
      }

      assert.match(m.install(c.client, c.scope), /nothing to change/);
      assert.equal(readFileSync(file, "utf8"), installed, "the second run changes nothing");

      m.uninstall(c.client, c.scope);
      assert.equal(readFileSync(file, "utf8"), c.text, "byte for byte as before");
      assert.equal(readdirSync(join(m.home, "backups")).length, 1, "one backup, from the install that wrote");
    });
  }

  test("a malformed file is never overwritten: an error naming the place, the file untouched", (t) => {
    const m = machine(t);
    const broken = '{\n  "mcpServers": {\n    "x": {"command": "a",}\n  \n';
    const json = put(join(m.user, ".claude.json"), broken);
    assert.throws(
      () => m.install("claude-code"),
      (error: Error) => {
        assert.ok(error instanceof MalformedFile);
        assert.match(
          error.message,
          /\.claude\.json is not valid JSON \(a closing } is missing at line 5, column 1\); it was left untouched/,
        );
        return true;
      },
    );
    assert.equal(readFileSync(json, "utf8"), broken);
    const toml = put(join(m.user, ".codex", "config.toml"), '[mcp_servers.x]\ncommand = "a\n');
    assert.throws(() => m.install("codex"), /config\.toml is not valid TOML/);
    assert.equal(readFileSync(toml, "utf8"), '[mcp_servers.x]\ncommand = "a\n');
    const wrongShape = put(join(m.user, ".cursor", "mcp.json"), '{"mcpServers": []}');
    assert.throws(() => m.install("cursor"), /"mcpServers" in .* is not an object/);
    assert.equal(readFileSync(wrongShape, "utf8"), '{"mcpServers": []}');
  });

  test("--http also routes HTTP servers through mcp-proxy, except those that need headers", (t) => {
    const m = machine(t);
    const text =
      '{"mcpServers": {"web": {"type": "http", "url": "http://127.0.0.1:4000/mcp"}, "legacy": {"type": "sse", "url": "http://127.0.0.1:4001/sse"}, "authed": {"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": "Bearer t"}}}}';
    const file = put(join(m.user, ".cursor", "mcp.json"), text);
    assert.match(
      m.install("cursor", undefined, { dryRun: true }),
      /web: left alone \(an HTTP server the client reaches directly; --http routes it through mcp-proxy too\)/,
    );
    const result = m.install("cursor", undefined, { http: true });
    assert.match(result, /~ web: streamable-http http:\/\/127\.0\.0\.1:4000\/mcp {2}-> {2}mcp-proxy --target web/);
    assert.match(result, /~ legacy: sse http:\/\/127\.0\.0\.1:4001\/sse {2}-> {2}mcp-proxy --target legacy/);
    assert.match(result, /authed: left alone \(an HTTP server with "headers", which mcp-proxy would not send\)/);
    const config = JSON.parse(readFileSync(m.configFile, "utf8"));
    assert.deepEqual(config.servers.web, { url: "http://127.0.0.1:4000/mcp", transport: "streamable-http" });
    assert.deepEqual(config.servers.legacy, { url: "http://127.0.0.1:4001/sse", transport: "sse" });
    const entry = JSON.parse(readFileSync(file, "utf8")).mcpServers.web;
    assert.equal(entry.type, "stdio");
    assert.deepEqual(entry.args.slice(-2), ["--target", "web"]);
    m.uninstall("cursor");
    assert.equal(readFileSync(file, "utf8"), text);
  });

  test("a name our config already uses for another server is imported under the client's name", (t) => {
    const m = machine(t);
    put(
      join(m.user, ".cursor", "mcp.json"),
      `{"mcpServers": {"memory": {"command": ${JSON.stringify(process.execPath)}, "args": [${JSON.stringify(PROBE)}]}}}`,
    );
    assert.match(m.install("cursor"), /memory \(as memory-cursor: that name was taken\)/);
    const entry = JSON.parse(readFileSync(join(m.user, ".cursor", "mcp.json"), "utf8")).mcpServers.memory;
    assert.deepEqual(entry.args.slice(-2), ["--target", "memory-cursor"]);
  });
});

const probeEntry = JSON.stringify({ command: process.execPath, args: [PROBE] });

describe("client files: Claude Code's three scopes", () => {
  test("install without --scope visits user, every local project and the project's .mcp.json, says what it did in each, and uninstall restores both files", (t) => {
    const m = machine(t);
    const user = m.user;
    const app = tempDir(t, "msm-app-");
    const lib = tempDir(t, "msm-lib-");
    const claudeJson = put(
      join(user, ".claude.json"),
      `{
  "mcpServers": {"probe": ${probeEntry}},
  "projects": {
    ${JSON.stringify(app)}: {"allowedTools": [], "mcpServers": {"app-probe": ${probeEntry}}},
    ${JSON.stringify(lib)}: {"mcpServers": {"lib-probe": ${probeEntry}}},
    "/nowhere/empty": {"mcpServers": {}}
  }
}
`,
    );
    const before = readFileSync(claudeJson, "utf8");
    const mcpJson = put(join(app, ".mcp.json"), `{"mcpServers": {"team-probe": ${probeEntry}}}\n`);
    const teamBefore = readFileSync(mcpJson, "utf8");

    m.within(app);
    m.run(install, { client: "claude-code", dryRun: true });
    assert.equal(readFileSync(claudeJson, "utf8"), before, "a dry run writes nothing");

    const result = m.run(install, { client: "claude-code" });
    assert.match(result, new RegExp(`claude-code \\(user\\) ${claudeJson}\n  ~ probe: `));
    assert.match(result, new RegExp(`claude-code \\(local ${app}\\) ${claudeJson}\n  ~ app-probe: `));
    assert.match(result, new RegExp(`claude-code \\(local ${lib}\\) ${claudeJson}\n  ~ lib-probe: `));
    assert.match(result, new RegExp(`claude-code \\(project\\) ${mcpJson}\n  ~ team-probe: `));
    assert.doesNotMatch(result, /nowhere/, "a project without servers is not visited");

    const installed = JSON.parse(readFileSync(claudeJson, "utf8"));
    for (const entry of [
      installed.mcpServers.probe,
      installed.projects[app].mcpServers["app-probe"],
      installed.projects[lib].mcpServers["lib-probe"],
    ])
      assert.match(entry.args.join(" "), /proxy\/index\.js --target (\w+-)?probe$/);
    assert.deepEqual(installed.projects[app].allowedTools, [], "the rest of the project's record stays");
    const team = JSON.parse(readFileSync(mcpJson, "utf8")).mcpServers["team-probe"];
    assert.deepEqual(team, { command: "mcp-proxy", args: ["--target", "team-probe"] }, "a file teams commit names no path of this machine");
    assert.match(result, /note: mcp-proxy is not on PATH here/);

    const again = m.run(install, { client: "claude-code" });
    assert.equal((again.match(/nothing to change/g) ?? []).length, 4, again);

    m.run(uninstall, { client: "claude-code" });
    assert.equal(readFileSync(claudeJson, "utf8"), before, "~/.claude.json byte for byte");
    assert.equal(readFileSync(mcpJson, "utf8"), teamBefore, ".mcp.json byte for byte");
  });

  test("--scope local names one project with --project, or every one without", (t) => {
    const m = machine(t);
    const user = m.user;
    const app = tempDir(t, "msm-app-");
    const lib = tempDir(t, "msm-lib-");
    put(
      join(user, ".claude.json"),
      JSON.stringify({
        projects: { [app]: { mcpServers: { a: JSON.parse(probeEntry) } }, [lib]: { mcpServers: { b: JSON.parse(probeEntry) } } },
      }),
    );
    const one = m.run(install, { client: "claude-code", scope: "local", projectDir: lib });
    assert.match(one, /~ b: /);
    assert.doesNotMatch(one, /~ a: /);
    assert.match(one, new RegExp(`undo with: mcp-manager uninstall --client claude-code --scope local --project "${lib}"`));
    const all = m.run(install, { client: "claude-code", scope: "local" });
    assert.match(all, /~ a: /);
    assert.match(all, /= b: already through mcp-proxy/);
    assert.throws(() => m.run(install, { client: "cursor", scope: "local" }), /only Claude Code has a local scope/);
  });
});
