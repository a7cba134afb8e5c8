import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { once } from "node:events";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { DaemonHome } from "./helpers/daemon-home.js";
import { memoryHome, memorySession } from "./helpers/memory-home.js";
import { ROOT } from "./helpers/paths.js";
import { isAlive } from "./helpers/processes.js";
import { until } from "./helpers/bounded.js";
import { ProxyClient, textOf, type Message } from "./helpers/proxy-client.js";
import { tempDir } from "./helpers/temp-dir.js";

const OFFICIAL = `${ROOT}node_modules/@modelcontextprotocol/server-memory/dist/index.js`;

/** The official server over stdio, driven by the same client, its JSONL file in a temp dir. */
async function officialSession(t: Parameters<typeof tempDir>[0]) {
  const file = join(tempDir(t), "memory.jsonl");
  const client = new ProxyClient(t, [], { env: { ...process.env, MEMORY_FILE_PATH: file }, command: [OFFICIAL] });
  await client.initialize();
  return client;
}

/** A client that speaks HTTP to the daemon directly (no proxy) with the home's token, and whatever headers a test wants. */
async function rawSession(daemon: DaemonHome, extraHeaders: Record<string, string> = {}) {
  const url = new URL(daemon.lockedUrl("memory")!);
  const headers = {
    "content-type": "application/json",
    accept: "application/json",
    authorization: `Bearer ${daemon.token()}`,
    ...extraHeaders,
  };
  const init = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    }),
  });
  const session = init.headers.get("mcp-session-id")!;
  await init.text();
  return async (name: string, args: Message): Promise<number> => {
    const call = await fetch(url, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": session },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name, arguments: args } }),
    });
    await call.text();
    return call.status;
  };
}

describe("built-in memory server", () => {
  test("messages sent back to back are handled in the order sent: each read sees the write before it", async (t) => {
    const daemon = await memoryHome(t);
    const project = tempDir(t);
    const client = await memorySession(t, daemon.env, project);
    const reads: Array<Promise<Message>> = [];
    for (let i = 0; i < 30; i++) {
      client.start("tools/call", {
        name: "create_entities",
        arguments: { entities: [{ name: `entity-${i}`, entityType: "t", observations: [`obs ${i}`] }] },
      });
      reads.push(client.responseTo(client.start("tools/call", { name: "open_nodes", arguments: { names: [`entity-${i}`] } })));
    }
    const answers = await Promise.all(reads);
    answers.forEach((answer, i) =>
      assert.deepEqual(
        answer.result.structuredContent.entities.map((e: Message) => e.name),
        [`entity-${i}`],
      ),
    );
  });

  test("projects are isolated: each has its own .claude/memory.db; a session without a project uses ~/.claude", async (t) => {
    const daemon = await memoryHome(t);
    const a = tempDir(t);
    const b = tempDir(t);
    const inA = await memorySession(t, daemon.env, a);
    const inB = await memorySession(t, daemon.env, b);
    await inA.callTool("create_entities", { entities: [{ name: "secret-of-a", entityType: "t", observations: [] }] });
    assert.deepEqual((await inB.callTool("read_graph")).result.structuredContent.entities, []);
    const alsoA = await memorySession(t, daemon.env, a);
    assert.equal((await alsoA.callTool("search_nodes", { query: "SECRET" })).result.structuredContent.entities[0].name, "secret-of-a");
    assert.ok(existsSync(join(realpathSync(a), ".claude", "memory.db")));

    // No Mcp-Project-Path at all (a client other than mcp-proxy): the global database.
    const callTool = await rawSession(daemon);
    assert.equal(await callTool("create_entities", { entities: [{ name: "global", entityType: "t", observations: [] }] }), 200);
    assert.ok(existsSync(join(daemon.userHome, ".claude", "memory.db")), "written to ~/.claude/memory.db");
    assert.deepEqual((await inA.callTool("search_nodes", { query: "global" })).result.structuredContent.entities, []);
  });

  test("tools/list matches the official server's: names, schemas, annotations", async (t) => {
    const daemon = await memoryHome(t);
    const ours = await memorySession(t, daemon.env, tempDir(t));
    const official = await officialSession(t);
    const [mine, theirs] = [await ours.request("tools/list"), await official.request("tools/list")];
    assert.deepEqual(mine.result.tools, theirs.result.tools);
  });

  test("the same calls get the same answers as the official server, errors included", async (t) => {
    const daemon = await memoryHome(t);
    const ours = await memorySession(t, daemon.env, tempDir(t));
    const official = await officialSession(t);
    const calls: Array<[string, Message]> = [
      [
        "create_entities",
        {
          entities: [
            { name: "Alice", entityType: "person", observations: ["likes tea", "Lives in Kyoto"] },
            { name: "Bob", entityType: "person", observations: [] },
          ],
        },
      ],
      [
        "create_entities",
        {
          entities: [
            { name: "Alice", entityType: "robot", observations: [] },
            { name: "Carol", entityType: "cat", observations: ["purrs"] },
          ],
        },
      ],
      [
        "create_relations",
        {
          relations: [
            { from: "Alice", to: "Bob", relationType: "knows" },
            { from: "Carol", to: "Alice", relationType: "owns" },
          ],
        },
      ],
      [
        "create_relations",
        {
          relations: [
            { from: "Alice", to: "Bob", relationType: "knows" },
            { from: "Bob", to: "Dave", relationType: "mentions" },
          ],
        },
      ],
      [
        "add_observations",
        {
          observations: [
            { entityName: "Bob", contents: ["plays go", "plays go too"] },
            { entityName: "Alice", contents: ["likes tea", "new"] },
          ],
        },
      ],
      ["add_observations", { observations: [{ entityName: "Ghost", contents: ["boo"] }] }],
      ["search_nodes", { query: "KYOTO" }],
      ["search_nodes", { query: "o" }],
      ["search_nodes", { query: "nothing" }],
      ["open_nodes", { names: ["Carol", "Bob", "Nobody"] }],
      [
        "delete_observations",
        {
          deletions: [
            { entityName: "Alice", observations: ["likes tea"] },
            { entityName: "Ghost", observations: ["x"] },
          ],
        },
      ],
      ["delete_relations", { relations: [{ from: "Alice", to: "Bob", relationType: "knows" }] }],
      ["delete_entities", { entityNames: ["Bob", "Ghost"] }],
      ["read_graph", {}],
      ["create_entities", { entities: [{ name: 42, entityType: "wrong type", observations: [] }] }],
      ["add_observations", { observations: [{ entityName: "Alice" }] }],
      ["read_graph", {}],
    ];
    for (const [name, args] of calls) {
      const [mine, theirs] = [await ours.callTool(name, args), await official.callTool(name, args)];
      assert.deepEqual(mine.result ?? mine.error, theirs.result ?? theirs.error, `${name} ${JSON.stringify(args)}`);
    }
  });

  test("mcp-manager memory --stdio serves one client without a daemon", async (t) => {
    const project = tempDir(t);
    const home = tempDir(t);
    const client = new ProxyClient(t, ["memory", "--stdio", "--project", project], {
      env: { ...process.env, HOME: home },
      command: [`${ROOT}dist/manager/index.js`],
    });
    await client.initialize();
    await client.callTool("create_entities", { entities: [{ name: "solo", entityType: "t", observations: [] }] });
    assert.equal(textOf(await client.callTool("read_graph")).includes('"solo"'), true);
    assert.ok(existsSync(join(project, ".claude", "memory.db")));
  });
});

describe("memory import and export (the official server's JSONL)", () => {
  test("a file the official server wrote imports once, exports back byte for byte, and a bad file changes nothing", async (t) => {
    const { readFileSync, writeFileSync } = await import("node:fs");
    const { spawnSync } = await import("node:child_process");
    // Let the official server write its file.
    const official = await officialSession(t);
    await official.callTool("create_entities", {
      entities: [
        { name: "Alice", entityType: "person", observations: ["likes tea", "日本語"] },
        { name: "Bob", entityType: "person", observations: [] },
      ],
    });
    await official.callTool("create_relations", { relations: [{ from: "Alice", to: "Bob", relationType: "knows" }] });
    const jsonl = official.env!.MEMORY_FILE_PATH!;
    const written = readFileSync(jsonl, "utf8");

    const project = tempDir(t);
    const env = { ...process.env, HOME: tempDir(t) };
    const manager = (...args: string[]) =>
      spawnSync(process.execPath, [`${ROOT}dist/manager/index.js`, "memory", ...args, "--project", project], { encoding: "utf8", env });
    assert.match(manager("import", jsonl).stdout, /2 new entities, 2 new observations, 1 new relations/);
    assert.match(manager("import", jsonl).stdout, /0 new entities, 0 new observations, 0 new relations/, "importing again adds nothing");
    assert.equal(manager("export").stdout, `${written}\n`, "the export is the official file, line for line");

    const broken = join(tempDir(t), "broken.jsonl");
    writeFileSync(broken, `${written}\n{"type":"entity","name":"Eve","entityType":"t","observations":[]}\n{"type":"entity","name":3}`);
    const refused = manager("import", broken);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /broken\.jsonl line 5: an entity needs a string name/);
    assert.equal(manager("export").stdout, `${written}\n`, "nothing of the broken file was imported, not even its good lines");
  });
});

describe("built-in memory server on bad input", () => {
  test("a huge string is refused with an error addressed to its call, wrong types too, and the graph is unchanged", async (t) => {
    const daemon = await memoryHome(t);
    const client = await memorySession(t, daemon.env, tempDir(t));
    await client.callTool("create_entities", { entities: [{ name: "kept", entityType: "t", observations: ["one"] }] });
    const before = (await client.callTool("read_graph")).result.structuredContent;

    const huge = "x".repeat(33 * 1024 * 1024); // over the proxy's 32 MiB message limit
    const refused = await client.callTool("add_observations", { observations: [{ entityName: "kept", contents: [huge] }] });
    assert.equal(refused.error?.code, -32600);
    assert.match(refused.error.message, /exceeds the 33554432-byte limit/);

    const wrong = await client.callTool("create_entities", {
      entities: [{ name: ["not", "a", "string"], entityType: "t", observations: [] }],
    });
    assert.equal(wrong.result?.isError, true);
    assert.match(wrong.result.content[0].text, /Input validation error/);

    assert.deepEqual((await client.callTool("read_graph")).result.structuredContent, before);
  });
});

describe("built-in memory server and the project path a request names", () => {
  test("a relative, missing or traversing path never chooses where to write: the global database is used", async (t) => {
    const daemon = await memoryHome(t);
    await memorySession(t, daemon.env, tempDir(t)); // brings the daemon up
    const outside = tempDir(t);
    for (const [index, claimed] of [
      `../${outside.split("/").pop()}`,
      `${outside}/does-not-exist`,
      `${outside}/../${outside.split("/").pop()}/nope`,
    ].entries()) {
      const callTool = await rawSession(daemon, { "mcp-project-path": claimed });
      assert.equal(await callTool("create_entities", { entities: [{ name: `from-${index}`, entityType: "t", observations: [] }] }), 200);
    }
    assert.ok(!existsSync(join(outside, ".claude")), "nothing written where the bad paths pointed");
    assert.ok(!existsSync(join(outside, "does-not-exist")));
    assert.ok(existsSync(join(daemon.userHome, ".claude", "memory.db")), "all three went to ~/.claude/memory.db");
  });

  test("/, system and kernel directories, a directory of another user, and links out of the project: the global database, nothing written there", async (t) => {
    const daemon = await memoryHome(t);
    await memorySession(t, daemon.env, tempDir(t)); // brings the daemon up
    const outside = tempDir(t, "msm-outside-");
    const target = join(outside, "victim.db");
    writeFileSync(target, "not to be touched");
    const linkedClaude = tempDir(t, "msm-linked-claude-");
    symlinkSync(outside, join(linkedClaude, ".claude"));
    const linkedDatabase = tempDir(t, "msm-linked-db-");
    mkdirSync(join(linkedDatabase, ".claude"));
    symlinkSync(target, join(linkedDatabase, ".claude", "memory.db"));
    const linkedWal = tempDir(t, "msm-linked-wal-");
    mkdirSync(join(linkedWal, ".claude"));
    symlinkSync(target, join(linkedWal, ".claude", "memory.db-wal"));
    const foreign = tempDir(t, "msm-foreign-");
    chownSync(foreign, 65534, 65534); // nobody's: a checkout another user made
    const claims = ["/", "/etc", "/usr/lib", "/proc/self", "/dev", foreign, linkedClaude, linkedDatabase, linkedWal];
    if (process.getuid?.() !== 0) claims.splice(claims.indexOf(foreign), 1); // only root can give a directory away
    for (const [index, claimed] of claims.entries()) {
      const callTool = await rawSession(daemon, { "mcp-project-path": claimed });
      assert.equal(
        await callTool("create_entities", { entities: [{ name: `from-${index}`, entityType: "t", observations: [] }] }),
        200,
        claimed,
      );
    }
    for (const dir of ["/", "/etc", "/usr/lib", foreign])
      assert.ok(!existsSync(join(dir, ".claude", "memory.db")), `nothing made in ${dir}`);
    assert.equal(readFileSync(target, "utf8"), "not to be touched", "no link was followed out of a project");
    assert.deepEqual(readdirSync(outside).sort(), ["victim.db"]);
    const global = join(daemon.userHome, ".claude");
    assert.ok(existsSync(join(global, "memory.db")), "every one of them used ~/.claude/memory.db");
    const log = readFileSync(join(daemon.home, "memory.log"), "utf8");
    assert.match(log, /is a system directory/);
    assert.match(log, /is on a kernel filesystem/);
    assert.match(log, /\.claude is a symbolic link/);
    assert.match(log, /memory\.db is a symbolic link/);
    assert.match(log, /memory\.db-wal is a symbolic link/);
  });

  test("what the daemon makes is the user's alone: .claude 0700, the database and its -wal and -shm 0600", async (t) => {
    const daemon = await memoryHome(t);
    const project = tempDir(t);
    const client = await memorySession(t, daemon.env, project);
    await client.callTool("create_entities", { entities: [{ name: "private", entityType: "t", observations: [] }] });
    assert.equal(statSync(join(project, ".claude")).mode & 0o777, 0o700);
    for (const file of ["memory.db", "memory.db-wal", "memory.db-shm"]) {
      assert.equal(statSync(join(project, ".claude", file)).mode & 0o777, 0o600, file);
    }
  });

  test("a memory.db that is not SQLite, or is damaged, fails only its own project's calls, naming the file and the fix", async (t) => {
    const daemon = await memoryHome(t);
    const healthy = tempDir(t);
    const garbage = tempDir(t);
    const damaged = tempDir(t);
    mkdirSync(join(garbage, ".claude"), { mode: 0o700 });
    writeFileSync(join(garbage, ".claude", "memory.db"), "this is not a database, and must stay as it is\n".repeat(100));
    // A real graph whose pages are then overwritten in the middle, as a bad disk or a bad copy leaves it.
    const seed = await memorySession(t, daemon.env, damaged);
    const many = Array.from({ length: 400 }, (_, i) => ({ name: `e${i}`, entityType: "t", observations: ["x".repeat(200)] }));
    await seed.callTool("create_entities", { entities: many });
    seed.child.kill("SIGTERM");
    await once(seed.child, "exit");
    const daemonPid = daemon.lockedPid("memory")!;
    process.kill(daemonPid, "SIGTERM"); // closes the file, so the damage below is what the next daemon finds
    await until(() => !isAlive(daemonPid), "the first memory daemon to stop");
    const file = join(damaged, ".claude", "memory.db");
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 8192);
    closeSync(fd);

    // A sound database that carries a trigger: a checkout could make every write run a query of its choosing.
    const triggered = tempDir(t);
    mkdirSync(join(triggered, ".claude"), { mode: 0o700 });
    const hostile = new Database(join(triggered, ".claude", "memory.db"));
    hostile.exec("CREATE TABLE entities (x); CREATE TRIGGER evil AFTER INSERT ON entities BEGIN SELECT 1; END;");
    hostile.close();

    const good = await memorySession(t, daemon.env, healthy);
    const projects = [garbage, damaged, triggered];
    const sessions = await Promise.all(projects.map((project) => memorySession(t, daemon.env, project)));
    for (const [index, session] of sessions.entries()) {
      const project = projects[index]!;
      const refused = await session.callTool("create_entities", { entities: [{ name: "lost?", entityType: "t", observations: [] }] });
      assert.equal(refused.result?.isError, true, "a tool error, not a crash");
      const text = textOf(refused);
      assert.match(text, new RegExp(`the memory database ${join(project, ".claude", "memory.db")} cannot be used`));
      assert.match(text, /move it aside \(mv /);
      assert.equal(
        (await good.callTool("create_entities", { entities: [{ name: `ok-${index}`, entityType: "t", observations: [] }] })).result
          ?.isError,
        undefined,
      );
      if (project === triggered) assert.match(text, /holds trigger "evil"/);
    }
    assert.equal(
      readFileSync(join(garbage, ".claude", "memory.db"), "utf8"),
      "this is not a database, and must stay as it is\n".repeat(100),
    );
    assert.ok(isAlive(daemon.lockedPid("memory")!), "the daemon serves on");

    renameSync(join(garbage, ".claude", "memory.db"), join(garbage, ".claude", "memory.db.damaged"));
    const healed = await sessions[0]!.callTool("create_entities", { entities: [{ name: "fresh", entityType: "t", observations: [] }] });
    assert.equal(healed.result?.isError, undefined, "moved aside, the next call starts a new graph");
    assert.deepEqual(
      (await good.callTool("read_graph")).result.structuredContent.entities.map((e: Message) => e.name),
      ["ok-0", "ok-1", "ok-2"],
    );
  });
});
