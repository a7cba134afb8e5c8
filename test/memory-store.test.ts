import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { KnowledgeGraphStore, MIGRATIONS, migrate } from "../src/memory/store.js";
import { indentedGraph, readGraphLine } from "../src/memory/graph-text.js";
import { onCleanup } from "./helpers/cleanup.js";
import { tempDir } from "./helpers/temp-dir.js";

function openStore(t: Parameters<typeof tempDir>[0], file = join(tempDir(t), "memory.db")): KnowledgeGraphStore {
  const store = new KnowledgeGraphStore(file);
  onCleanup(t, () => store.close());
  return store;
}

describe("knowledge graph store (SQLite)", () => {
  test("creates entities and relations once, keeps insertion order, and answers like the official server", (t) => {
    const store = openStore(t);
    const created = store.createEntities([
      { name: "Alice", entityType: "person", observations: ["likes tea", "lives in Kyoto"] },
      { name: "Bob", entityType: "person", observations: [] },
    ]);
    assert.deepEqual(
      created.map((e) => e.name),
      ["Alice", "Bob"],
    );
    assert.deepEqual(
      store.createEntities([
        { name: "Alice", entityType: "robot", observations: ["x"] },
        { name: "Carol", entityType: "person", observations: [] },
      ]),
      [{ name: "Carol", entityType: "person", observations: [] }],
      "an existing name is skipped, not changed",
    );
    assert.deepEqual(
      store.createRelations([
        { from: "Alice", to: "Bob", relationType: "knows" },
        { from: "Alice", to: "Bob", relationType: "knows" },
      ]),
      [{ from: "Alice", to: "Bob", relationType: "knows" }],
    );
    assert.deepEqual(store.createRelations([{ from: "Alice", to: "Bob", relationType: "knows" }]), [], "duplicates are not created twice");
    store.createRelations([{ from: "Bob", to: "Nobody", relationType: "mentions" }]);
    assert.deepEqual(store.readGraph(), {
      entities: [
        { name: "Alice", entityType: "person", observations: ["likes tea", "lives in Kyoto"] },
        { name: "Bob", entityType: "person", observations: [] },
        { name: "Carol", entityType: "person", observations: [] },
      ],
      relations: [
        { from: "Alice", to: "Bob", relationType: "knows" },
        { from: "Bob", to: "Nobody", relationType: "mentions" },
      ],
    });
  });

  test("add_observations adds only what is new; an unknown entity fails the call and changes nothing", (t) => {
    const store = openStore(t);
    store.createEntities([{ name: "Alice", entityType: "person", observations: ["likes tea"] }]);
    assert.deepEqual(store.addObservations([{ entityName: "Alice", contents: ["likes tea", "plays go"] }]), [
      { entityName: "Alice", addedObservations: ["plays go"] },
    ]);
    const before = store.readGraph();
    assert.throws(
      () =>
        store.addObservations([
          { entityName: "Alice", contents: ["new"] },
          { entityName: "Ghost", contents: ["boo"] },
        ]),
      /Entity with name Ghost not found/,
    );
    assert.deepEqual(store.readGraph(), before);
  });

  test("deletes: entities take their observations and every relation touching them; missing things are ignored", (t) => {
    const store = openStore(t);
    store.createEntities([
      { name: "A", entityType: "t", observations: ["one", "two"] },
      { name: "B", entityType: "t", observations: [] },
      { name: "C", entityType: "t", observations: [] },
    ]);
    store.createRelations([
      { from: "A", to: "B", relationType: "r" },
      { from: "C", to: "A", relationType: "r" },
      { from: "B", to: "C", relationType: "r" },
    ]);
    store.deleteObservations([
      { entityName: "A", observations: ["one", "absent"] },
      { entityName: "Ghost", observations: ["x"] },
    ]);
    store.deleteRelations([
      { from: "B", to: "C", relationType: "r" },
      { from: "X", to: "Y", relationType: "z" },
    ]);
    store.deleteEntities(["A", "Ghost"]);
    assert.deepEqual(store.readGraph(), {
      entities: [
        { name: "B", entityType: "t", observations: [] },
        { name: "C", entityType: "t", observations: [] },
      ],
      relations: [],
    });
    assert.deepEqual(store.searchNodes("one").entities, [], "deleted observations are gone from the index too");
  });

  test("search_nodes: case-insensitive substring over names, types and observations, any length, any characters", (t) => {
    const store = openStore(t);
    store.createEntities([
      { name: "Alice", entityType: "Person", observations: ["Lives in KYOTO", 'said "hello"'] },
      { name: "Ünïcode Straße", entityType: "place", observations: ["東京タワーの近く"] },
      { name: "Bob", entityType: "robot", observations: ["100% sure_thing*"] },
    ]);
    store.createRelations([
      { from: "Alice", to: "Bob", relationType: "knows" },
      { from: "Bob", to: "Ünïcode Straße", relationType: "visits" },
    ]);
    const names = (query: string) => store.searchNodes(query).entities.map((e) => e.name);
    assert.deepEqual(names("kyoto"), ["Alice"]);
    assert.deepEqual(names("PERSON"), ["Alice"]);
    assert.deepEqual(names("li"), ["Alice"], "two characters: below a trigram, still found");
    assert.deepEqual(names("o"), ["Alice", "Ünïcode Straße", "Bob"], "one character: a scan, in insertion order");
    assert.deepEqual(names("straße"), ["Ünïcode Straße"], "non-ASCII case folding as JavaScript does it");
    assert.deepEqual(names("ÜNÏCODE"), ["Ünïcode Straße"]);
    assert.deepEqual(names("タワー"), ["Ünïcode Straße"]);
    assert.deepEqual(names('"hello"'), ["Alice"], "quotes are literal");
    assert.deepEqual(names("100% sure_"), ["Bob"], "% and _ are literal");
    assert.deepEqual(names("thing*"), ["Bob"]);
    assert.deepEqual(names("nothing like this"), []);
    assert.equal(store.searchNodes("").entities.length, 3, "the empty query matches everything, as includes('') does");
    store.createEntities([{ name: "Dee", entityType: "t", observations: ["def, then abc", "ab-cd-ef"] }]);
    assert.deepEqual(names("abcdef"), [], "its trigrams, apart or scattered, are not the needle");
    assert.deepEqual(names("then abc"), ["Dee"], "a needle whose last trigram overlaps the one before");
    assert.deepEqual(names("ef, th"), ["Dee"]);
    assert.deepEqual(names('d "he'), ["Alice"], "a quote inside a trigram");
    assert.deepEqual(names("f, t"), ["Dee"], "four characters");
    assert.deepEqual(names("ab\u0000cd"), [], "a NUL ends an FTS5 query: not an error");
    store.createEntities([{ name: "Nul", entityType: "t", observations: ["x\u0000yz", "long ".repeat(2000)] }]);
    assert.deepEqual(names("x\u0000y"), ["Nul"], "a needle whose every trigram holds a NUL is scanned for");
    assert.deepEqual(names("x\u0000yz"), ["Nul"]);
    assert.deepEqual(names("long ".repeat(2000)), ["Nul"], "a long needle is asked for by a few of its trigrams");
    assert.deepEqual(names("long ".repeat(1999) + "lonx"), []);
    assert.deepEqual(
      store.searchNodes("kyoto").relations,
      [{ from: "Alice", to: "Bob", relationType: "knows" }],
      "relations touching a match",
    );
  });

  test("open_nodes returns the named entities and the relations touching any of them", (t) => {
    const store = openStore(t);
    store.createEntities(["A", "B", "C"].map((name) => ({ name, entityType: "t", observations: [] })));
    store.createRelations([
      { from: "A", to: "B", relationType: "r" },
      { from: "B", to: "C", relationType: "r" },
      { from: "C", to: "C", relationType: "self" },
    ]);
    assert.deepEqual(store.openNodes(["C", "A", "Ghost"]), {
      entities: [
        { name: "A", entityType: "t", observations: [] },
        { name: "C", entityType: "t", observations: [] },
      ],
      relations: [
        { from: "A", to: "B", relationType: "r" },
        { from: "B", to: "C", relationType: "r" },
        { from: "C", to: "C", relationType: "self" },
      ],
    });
  });

  test("the graph kept between reads, with its text joined from pieces, is exactly a fresh read's, through any writes", (t) => {
    const file = join(tempDir(t), "pieces.db");
    const store = openStore(t, file);
    const other = openStore(t, file);
    const odd = ['quote " and \\ backslash', "line\nbreak\ttab", "控制 \u0001 ünïcödé 🧠", "", "</script>"];
    const fresh = () => {
      const reader = new KnowledgeGraphStore(file);
      try {
        return reader.readGraph();
      } finally {
        reader.close();
      }
    };
    const check = (step: string) => {
      const graph = store.readGraph();
      const expected = fresh();
      assert.deepEqual(graph, expected, `${step}: the graph`);
      assert.equal(indentedGraph(graph), JSON.stringify(expected, null, 2), `${step}: the indented text`);
      assert.equal(
        Buffer.concat(readGraphLine(7, graph)).toString(),
        JSON.stringify({
          jsonrpc: "2.0",
          id: 7,
          result: { content: [{ type: "text", text: JSON.stringify(expected, null, 2) }], structuredContent: expected },
        }),
        `${step}: the whole answer`,
      );
    };
    check("empty");
    store.createEntities([{ name: "a", entityType: "t", observations: odd }]);
    check("one entity");
    store.createEntities(
      Array.from({ length: 30 }, (_, i) => ({ name: `e${i}`, entityType: odd[i % odd.length]!, observations: [`o${i}`] })),
    );
    store.createRelations([
      { from: "a", to: "e1", relationType: "r" },
      { from: "e2", to: "a", relationType: odd[0]! },
    ]);
    check("many, with relations");
    store.readGraph();
    store.addObservations([{ entityName: "e5", contents: ["new", "o5"] }]);
    check("observations added to one");
    store.deleteObservations([{ entityName: "a", observations: [odd[1]!] }]);
    check("an observation deleted");
    store.deleteEntities(["e2", "missing"]);
    check("an entity deleted, with its relation");
    other.createEntities([{ name: "from elsewhere", entityType: "t", observations: ["x"] }]);
    other.deleteEntities(["e7"]);
    check("another connection's writes");
    store.deleteRelations([{ from: "a", to: "e1", relationType: "r" }]);
    store.deleteEntities(["e29"]);
    store.createEntities([{ name: "after the last", entityType: "t", observations: [] }]);
    check("the last entity deleted and a new one made");
    assert.throws(() => store.addObservations([{ entityName: "nobody", contents: ["x"] }]));
    check("a write that failed");
    store.deleteEntities(store.readGraph().entities.map((entity) => entity.name));
    check("everything deleted");
  });

  test("an older database migrates in place, once, under the write lock, keeping its graph", (t) => {
    const file = join(tempDir(t), "older.db");
    const store = openStore(t, file);
    store.createEntities([{ name: "kept", entityType: "t", observations: ["across the upgrade"] }]);
    const next = [...MIGRATIONS, "ALTER TABLE entities ADD COLUMN note TEXT"];
    const db = new Database(file);
    onCleanup(t, () => db.close());
    db.pragma("busy_timeout = 50");
    // A writer elsewhere holds the lock: the migration waits for it (here, past its short timeout it gives up)
    // rather than reading a version that may change under it.
    const holder = new Database(file);
    holder.exec("BEGIN IMMEDIATE");
    assert.throws(() => migrate(db, file, next), /locked|busy/i);
    holder.exec("ROLLBACK");
    holder.close();
    migrate(db, file, next);
    migrate(db, file, next);
    assert.deepEqual(db.prepare("SELECT version FROM schema_version").pluck().all(), [2], "one row, the new version");
    assert.ok(db.prepare("SELECT note FROM entities").all(), "the new column is there");
    assert.deepEqual(store.readGraph().entities, [{ name: "kept", entityType: "t", observations: ["across the upgrade"] }]);
  });

  test("a database of a newer version is refused, with what to do, and nothing is written to it", (t) => {
    const file = join(tempDir(t), "newer.db");
    openStore(t, file).createEntities([{ name: "theirs", entityType: "t", observations: [] }]);
    const db = new Database(file);
    db.exec(`UPDATE schema_version SET version = ${MIGRATIONS.length + 1}`);
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const bytes = readFileSync(file);
    assert.throws(
      () => new KnowledgeGraphStore(file),
      /has schema version 2, newer than this version of mcp-session-manager \(.+, schema 1\) knows; nothing was written to it\. A newer version made it: install that one \(npm install -g mcp-session-manager\), then run mcp-manager upgrade/,
    );
    assert.deepEqual(readFileSync(file), bytes);
  });

  test("the file is WAL with a busy timeout and a schema version, and two connections see each other's writes", (t) => {
    const file = join(tempDir(t), "shared.db");
    const one = openStore(t, file);
    const two = openStore(t, file);
    assert.equal(one.db.pragma("journal_mode", { simple: true }), "wal");
    assert.equal(one.db.pragma("busy_timeout", { simple: true }), 5000);
    assert.equal(one.db.pragma("foreign_keys", { simple: true }), 1);
    assert.equal(one.db.prepare("SELECT version FROM schema_version").pluck().get(), 1);
    for (let i = 0; i < 50; i++) {
      (i % 2 ? one : two).createEntities([{ name: `e${i}`, entityType: "t", observations: [`o${i}`] }]);
    }
    assert.equal(one.readGraph().entities.length, 50);
    assert.deepEqual(
      two.searchNodes("o4").entities.map((e) => e.name),
      ["e4", "e40", "e41", "e42", "e43", "e44", "e45", "e46", "e47", "e48", "e49"],
      "the other connection's writes are indexed too",
    );
  });

  test("read_graph is kept between writes, and never stale: a write through this connection or another changes it", (t) => {
    const file = join(tempDir(t), "cached.db");
    const one = openStore(t, file);
    const two = openStore(t, file);
    one.createEntities([{ name: "a", entityType: "t", observations: [] }]);
    const first = one.readGraph();
    assert.equal(one.readGraph(), first, "an unchanged graph is the same object, read once");
    one.addObservations([{ entityName: "a", contents: ["own write"] }]);
    assert.deepEqual(one.readGraph().entities[0]!.observations, ["own write"], "after this connection's write");
    two.createEntities([{ name: "b", entityType: "t", observations: [] }]);
    assert.deepEqual(
      one.readGraph().entities.map((e) => e.name),
      ["a", "b"],
      "after another connection's write",
    );
    two.deleteEntities(["a"]);
    assert.deepEqual(
      one.readGraph().entities.map((e) => e.name),
      ["b"],
    );
    assert.throws(() => one.addObservations([{ entityName: "missing", contents: ["x"] }]));
    assert.deepEqual(
      one.readGraph().entities.map((e) => e.name),
      ["b"],
      "a failed write changes nothing",
    );
  });
});

describe("knowledge graph store, opened by many processes at once", () => {
  test("processes creating the same new database together all succeed (the schema is made once)", async (t) => {
    const file = join(tempDir(t), "new.db");
    const store = new URL("../src/memory/store.js", import.meta.url).href;
    const script = `import(${JSON.stringify(store)}).then((m) => { new m.KnowledgeGraphStore(${JSON.stringify(file)}).close(); console.log("opened"); })`;
    const openers = Array.from({ length: 6 }, () => spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] }));
    const outputs = await Promise.all(
      openers.map(async (child) => {
        let text = "";
        child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
        const [code] = (await once(child, "exit")) as [number];
        return { code, text };
      }),
    );
    for (const output of outputs) assert.deepEqual(output, { code: 0, text: "opened\n" });
    const check = openStore(t, file);
    assert.equal(check.db.prepare("SELECT version FROM schema_version").pluck().all().length, 1, "one version row");
  });
});
