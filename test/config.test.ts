import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { checkedConfig, checkedOrLastGood } from "../src/config/checked-config.js";
import { configDigest, readConfigText } from "../src/config/config-text.js";
import { ConfigError } from "../src/config/config-error.js";
import { loadConfig } from "../src/config/load.js";
import { findServer } from "../src/config/server-config.js";
import { ensureHome } from "../src/config/paths.js";
import { tempDir } from "./helpers/temp-dir.js";

function configIn(t: Parameters<typeof tempDir>[0], content: unknown): string {
  const file = join(tempDir(t), "config.json");
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

describe("config loader", () => {
  test("no file: the embedded defaults, the built-in memory server on 3100", (t) => {
    const home = tempDir(t);
    const previous = process.env.MCP_SESSION_MANAGER_HOME;
    process.env.MCP_SESSION_MANAGER_HOME = home;
    t.after(() => {
      if (previous === undefined) delete process.env.MCP_SESSION_MANAGER_HOME;
      else process.env.MCP_SESSION_MANAGER_HOME = previous;
    });
    const config = loadConfig();
    assert.equal(config.file, undefined);
    assert.equal(config.manager.port, 3199);
    assert.deepEqual(Object.keys(config.servers), ["memory"]);
    assert.equal(config.servers.memory!.url, "http://127.0.0.1:3100/mcp");
  });

  test("the documented server shapes: stdio, streamable HTTP with a port, legacy SSE, remote URL, pasted client entries", (t) => {
    const file = configIn(t, {
      servers: {
        everything: { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"], scope: "shared" },
        "code-index": { command: "uv", args: ["run", "x"], transport: "streamable-http", port: 3101, cwd: "~/src/code-index-mcp" },
        "ast-grep": { command: "uv", args: ["run", "main.py"], transport: "sse", port: 3102, cwd: "tools/ast-grep" },
        remote: { url: "http://127.0.0.1:4000/mcp", transport: "streamable-http" },
        pasted: { type: "http", url: "http://127.0.0.1:4001/mcp" },
      },
    });
    const { servers } = loadConfig(file);
    const everything = servers.everything!;
    assert.equal(everything.kind, "hosted");
    assert.equal(everything.transport, "stdio");
    assert.equal(everything.kind === "hosted" && everything.scope, "shared");
    const codeIndex = servers["code-index"]!;
    assert.equal(codeIndex.kind, "spawned");
    assert.equal(codeIndex.url, "http://127.0.0.1:3101/mcp");
    assert.ok(codeIndex.kind === "spawned" && !codeIndex.cwd!.startsWith("~"), "~ expanded");
    assert.equal(servers.remote!.kind, "remote");
    assert.equal(servers["ast-grep"]!.url, "http://127.0.0.1:3102/sse");
    const astGrep = servers["ast-grep"]!;
    assert.equal(astGrep.kind === "spawned" && astGrep.cwd, join(homedir(), "tools", "ast-grep"), "relative to the home directory");
    assert.equal(servers.remote!.port, 4000);
    assert.equal(servers.pasted!.transport, "streamable-http");
    assert.throws(
      () => findServer(loadConfig(file), "nope"),
      /no server named "nope" in .*config\.json \(configured: everything, code-index/,
    );
  });

  const broken: Array<[string, unknown, RegExp]> = [
    ["not JSON", "{ servers: ", /config file .*config\.json is not valid JSON/],
    [
      "a wrong type",
      { servers: { a: { command: "x", port: "3100", transport: "sse" } } },
      /config error in .*config\.json: servers\.a\.port: /,
    ],
    ["an unknown key", { servers: { a: { command: "x", prot: 1 } } }, /servers\.a: .*prot/],
    ["an entry with nothing to run", { servers: { a: { args: [] } } }, /servers\.a: needs one of "command", "url" or "builtin"/],
    [
      "an HTTP server without a port",
      { servers: { a: { command: "x", transport: "sse" } } },
      /servers\.a\.port: a sse server started from "command" needs the "port"/,
    ],
    ["a name that cannot be a file name", { servers: { "../evil": { command: "x" } } }, /servers\.\.\.\/evil: server names may use/],
    // Its HTTP socket, x.session.sock, would be the session socket of a server named x.
    ["a name whose files would be another server's", { servers: { "x.session": { command: "x" } } }, /not ending in \.session/],
    // new URL() throws on these: the check must say so, not let "Invalid URL" escape from it.
    ["a url without a scheme", { servers: { a: { url: "127.0.0.1:4000/mcp" } } }, /servers\.a\.url: must be an http\(s\) URL, such as/],
    [
      "a url with a port out of range",
      { servers: { a: { url: "http://127.0.0.1:99999/mcp" } } },
      /servers\.a\.url: must be an http\(s\) URL/,
    ],
    ["a url that is not http", { servers: { a: { url: "ftp://127.0.0.1/mcp" } } }, /servers\.a\.url: must be an http\(s\) URL/],
    ["an unknown transport", { servers: { a: { command: "x", transport: "ws" } } }, /servers\.a\.transport: /],
    ["the reserved name manager", { servers: { manager: { command: "x" } } }, /servers\.manager: the name "manager" is taken/],
    ["an unknown manager setting", { manager: { healthInterval: 5 }, servers: {} }, /manager: .*healthInterval/],
    [
      "both manager port keys",
      { managerPort: 1, manager: { port: 2 }, servers: {} },
      /managerPort: give "manager\.port" or "managerPort", not both/,
    ],
  ];
  for (const [what, content, expected] of broken) {
    test(`a broken file (${what}) gives one clear message naming file, key and problem`, (t) => {
      const file = configIn(t, content);
      assert.throws(
        () => loadConfig(file),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, expected);
          return true;
        },
      );
    });
  }

  test("manager settings: defaults, overrides, and the older managerPort key", (t) => {
    const defaults = loadConfig(configIn(t, { servers: {} })).manager;
    assert.deepEqual(defaults, {
      port: 3199,
      healthIntervalMs: 30_000,
      restartLimit: 5,
      restartBackoffMs: 1000,
      logMaxBytes: 10 * 1024 * 1024,
      logFiles: 3,
    });
    const tuned = loadConfig(configIn(t, { manager: { port: 4000, restartLimit: 2 }, servers: {} })).manager;
    assert.equal(tuned.port, 4000);
    assert.equal(tuned.restartLimit, 2);
    assert.equal(tuned.healthIntervalMs, 30_000);
    assert.equal(loadConfig(configIn(t, { managerPort: 4001, servers: {} })).manager.port, 4001);
  });

  test("the digest names a config exactly: its path and text, or the embedded defaults", (t) => {
    const file = configIn(t, { servers: { a: { command: "x" } } });
    const text = readConfigText(file);
    assert.equal(configDigest(file, text.text), configDigest(join(file, "..", "config.json"), text.text), "the same file however named");
    assert.notEqual(configDigest(file, `${text.text} `), configDigest(file, text.text), "another text");
    assert.notEqual(configDigest(`${file}.other`, text.text), configDigest(file, text.text), "another file");
    const missing = join(tempDir(t), "none.json");
    assert.throws(
      () => readConfigText(missing),
      (error) => error instanceof ConfigError && error.problem === "unreadable",
      "a file named explicitly that is missing has no text, and no digest",
    );
    assert.equal(configDigest(missing, undefined), configDigest(file, undefined), "the embedded defaults, wherever looked for");
  });

  test("a config is checked once per text: recorded in the home, used while the text is the same, checked again when it changes", async (t) => {
    const home = tempDir(t);
    const file = configIn(t, { servers: { a: { command: "x" } } });
    assert.equal((await checkedConfig(file, home)).servers.a?.kind, "hosted");
    const recordFile = join(home, "config.checked.json");
    assert.equal(statSync(recordFile).mode & 0o777, 0o600);
    // What is recorded is what is used for the same text: marked here to tell it from a fresh check.
    const record = JSON.parse(readFileSync(recordFile, "utf8")) as {
      key: string;
      config: { servers: Record<string, { command: string }> };
    };
    record.config.servers.a!.command = "from the record";
    writeFileSync(recordFile, JSON.stringify(record));
    assert.equal(((await checkedConfig(file, home)).servers.a as { command: string }).command, "from the record");

    writeFileSync(file, JSON.stringify({ servers: { a: { command: "y" } } }));
    assert.equal(((await checkedConfig(file, home)).servers.a as { command: string }).command, "y", "another text is checked");
    writeFileSync(file, JSON.stringify({ servers: { a: { command: "y", port: "not a port" } } }));
    await assert.rejects(checkedConfig(file, home), (error) => error instanceof ConfigError && /servers\.a\.port/.test(error.message));
    writeFileSync(file, JSON.stringify({ servers: { a: { command: "z" } } }));
    await checkedConfig(file, home);
    writeFileSync(recordFile, "{ torn");
    assert.equal(((await checkedConfig(file, home)).servers.a as { command: string }).command, "z", "a torn record: checked again");
    assert.match(readFileSync(recordFile, "utf8"), /"command":"z"/, "and recorded anew");
  });

  test("while a file does not load, its last good config recorded here stands in, with the reason; not another file's", async (t) => {
    const home = tempDir(t);
    const file = configIn(t, { servers: { a: { command: "x" } } });
    const other = configIn(t, { servers: { b: { command: "y" } } });
    assert.equal((await checkedOrLastGood(file, home)).broken, undefined);
    writeFileSync(file, "{ half-saved");
    const kept = await checkedOrLastGood(file, home);
    assert.equal(kept.config.servers.a?.kind, "hosted");
    assert.ok(kept.broken instanceof ConfigError && /is not valid JSON/.test(kept.broken.message));
    writeFileSync(file, JSON.stringify({ servers: { a: { command: "x", port: "not a port" } } }));
    assert.match((await checkedOrLastGood(file, home)).broken?.message ?? "", /servers\.a\.port/, "a bad key too");

    writeFileSync(other, "{ never good here");
    await assert.rejects(checkedOrLastGood(other, home), /is not valid JSON/, "the record is of another file");
    rmSync(file);
    await assert.rejects(checkedOrLastGood(file, home), (error) => error instanceof ConfigError && error.problem === "unreadable");
  });

  test("a config file named explicitly must exist", (t) => {
    assert.throws(() => loadConfig(join(tempDir(t), "missing.json")), /cannot read config file .*missing\.json/);
  });

  test("the home directory is created for the user alone", (t) => {
    const home = join(tempDir(t), "nested", "home");
    ensureHome(home);
    assert.equal(statSync(home).mode & 0o777, 0o700);
  });
});
