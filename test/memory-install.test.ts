import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { put } from "./helpers/client-files.js";
import { runManagerCli, type CliResult } from "./helpers/manager.js";
import { memoryHome, memorySession } from "./helpers/memory-home.js";
import { ProxyClient, textOf } from "./helpers/proxy-client.js";
import { tempDir } from "./helpers/temp-dir.js";

/** A user home with the built-in memory on a free port, and a CLI that runs in `cwd` (default: the user home). */
async function machine(t: TestContext) {
  const daemon = await memoryHome(t);
  const user = daemon.userHome;
  // A PATH with node alone: whether mcp-proxy is installed on this machine does not change what is said.
  // npm runs scripts with npm_config_cache set, which would send the npx cache lookup to this machine's.
  const env = { ...daemon.env, PATH: dirname(process.execPath), npm_config_cache: join(user, ".npm") };
  const cli = (args: string[], cwd = user): Promise<CliResult> => runManagerCli(args, { env, cwd });
  return { daemon, user, cli };
}

describe("the official memory server, replaced by the built-in one with its data", () => {
  const graphLines = [
    { type: "entity", name: "Ada", entityType: "person", observations: ["wrote the first program", "liked poetry"] },
    { type: "entity", name: "Engine", entityType: "machine", observations: ["analytical"] },
    { type: "relation", from: "Ada", to: "Engine", relationType: "programmed" },
  ];
  const jsonl = graphLines.map((line) => JSON.stringify(line)).join("\n") + "\n";

  test("a user entry's MEMORY_FILE_PATH goes to the global database, a local npx entry's file to its project's; once, counted, files untouched", async (t) => {
    const { daemon, user, cli } = await machine(t);
    const app = tempDir(t, "msm-app-");
    const userFile = put(join(tempDir(t, "msm-data-"), "graph.jsonl"), jsonl);
    // What npx left behind for the local entry: the package's default file, beside its dist/index.js.
    const npxFile = put(
      join(user, ".npm", "_npx", "0a1b2c", "node_modules", "@modelcontextprotocol", "server-memory", "dist", "memory.jsonl"),
      jsonl.split("\n")[0] + "\n",
    );
    const claudeJson = put(
      join(user, ".claude.json"),
      JSON.stringify(
        {
          mcpServers: {
            memory: { command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"], env: { MEMORY_FILE_PATH: userFile } },
          },
          projects: {
            [app]: {
              mcpServers: { notes: { type: "stdio", command: "npx", args: ["-y", "@modelcontextprotocol/server-memory@2026.8.31"] } },
            },
          },
        },
        null,
        2,
      ),
    );
    const before = readFileSync(claudeJson, "utf8");

    const dry = await cli(["install", "--client", "claude-code", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /~ memory: the official memory server {2}-> {2}mcp-proxy --target memory \(built in\)/);
    assert.match(
      dry.stdout,
      new RegExp(`its ${userFile} \\(2 entities, 1 relation\\) is imported into ${join(user, ".claude", "memory.db")}`),
    );
    assert.match(
      dry.stdout,
      new RegExp(`its ${npxFile} \\(1 entity, 0 relations\\) is imported into ${join(app, ".claude", "memory.db")}`),
    );
    assert.match(dry.stdout, /dry run: nothing was written/);
    assert.match(
      dry.stdout,
      /sessions started in a project keep their own graph .* to give a project this graph: mcp-manager memory export FILE --project ~/,
    );

    const result = await cli(["install", "--client", "claude-code"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`imported ${userFile} into .*: 2 new entities, 3 new observations, 1 new relation`));
    assert.match(result.stdout, new RegExp(`imported ${npxFile} into .*: 1 new entity, 2 new observations, 0 new relations`));
    assert.equal(readFileSync(userFile, "utf8"), jsonl, "the JSONL file is left untouched");
    const installed = JSON.parse(readFileSync(claudeJson, "utf8"));
    assert.deepEqual(installed.mcpServers.memory.args.slice(-2), ["--target", "memory"]);
    assert.deepEqual(installed.projects[app].mcpServers.notes.args.slice(-2), ["--target", "memory"], "both reach the one built-in memory");
    const config = JSON.parse(readFileSync(join(daemon.home, "config.json"), "utf8"));
    assert.deepEqual(Object.keys(config.servers), ["memory"], "nothing imported as a server of its own");

    const again = await cli(["install", "--client", "claude-code"]);
    assert.doesNotMatch(again.stdout, /imported/, "imported once");

    // Read back as sessions see it: the project's session its own graph; one started in the home, with no project,
    // the global one.
    const inApp = await memorySession(t, daemon.env, app);
    const appGraph = JSON.parse(textOf(await inApp.callTool("read_graph")));
    assert.deepEqual(
      appGraph.entities.map((e: { name: string }) => e.name),
      ["Ada"],
    );
    const elsewhere = new ProxyClient(t, ["--target", "memory"], { env: daemon.env, cwd: user });
    await elsewhere.initialize();
    const globalGraph = JSON.parse(textOf(await elsewhere.callTool("read_graph")));
    assert.deepEqual(
      globalGraph.entities.map((e: { name: string; observations: string[] }) => [e.name, e.observations.length]),
      [
        ["Ada", 2],
        ["Engine", 1],
      ],
    );
    assert.deepEqual(globalGraph.relations, [{ from: "Ada", to: "Engine", relationType: "programmed" }]);

    const undone = await cli(["uninstall", "--client", "claude-code"]);
    assert.equal(undone.code, 0, undone.stderr);
    assert.equal(readFileSync(claudeJson, "utf8"), before, "the official entries come back byte for byte");
    assert.match(undone.stdout, /~ memory: restored\n {6}what was remembered since install is in the built-in memory's databases/);
  });

  test("a JSONL file that cannot be read leaves the entry alone and imports nothing", async (t) => {
    const { user, cli } = await machine(t);
    const bad = put(join(tempDir(t, "msm-data-"), "graph.jsonl"), `${JSON.stringify(graphLines[0])}\n{"type": "entity", "name": 3}\n`);
    const cursor = put(
      join(user, ".cursor", "mcp.json"),
      JSON.stringify({ mcpServers: { memory: { command: "mcp-server-memory", env: { MEMORY_FILE_PATH: bad } } } }),
    );
    const before = readFileSync(cursor, "utf8");
    const result = await cli(["install", "--client", "cursor"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /memory: left alone \(the official memory server; its file cannot be imported: .*graph\.jsonl line 2: an entity needs/,
    );
    assert.equal(readFileSync(cursor, "utf8"), before);
  });
});
