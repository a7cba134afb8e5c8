import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { ProxyClient, textOf } from "./helpers/proxy-client.js";
import { startEverything } from "./helpers/servers.js";

describe("mcp-proxy on bad input: answers what it can address, never crashes, never invents ids", () => {
  test("malformed lines get the right errors and the session goes on", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const client = new ProxyClient(t, ["--url", server.url, "--max-message-bytes", "4096"]);
    await client.initialize();

    client.writeLine("this is not json");
    const parseError = await client.waitFor((m) => m.error?.code === -32700);
    assert.equal(parseError.id, null, "only a parse error may carry id null");

    client.writeLine('{"jsonrpc":"2.0","id":7}');
    assert.equal((await client.responseTo(7)).error.code, -32600);
    client.writeLine('{"jsonrpc":"1.0","id":8,"method":"ping"}');
    assert.equal((await client.responseTo(8)).error.code, -32600);
    client.writeLine('{"jsonrpc":"2.0","id":"nine","method":42}');
    assert.equal((await client.responseTo("nine")).error.code, -32600);
    client.writeLine('{"jsonrpc":"2.0","id":10,"method":"tools/call","params":"not an object"}');
    assert.equal((await client.responseTo(10)).error.code, -32600);

    // Nothing addressable: answering would need id null, which clients treat as fatal. Logged instead.
    client.writeLine('{"foo":1}');
    client.writeLine('{"jsonrpc":"2.0","id":{"nested":true},"method":"ping"}');
    client.writeLine('{"jsonrpc":"2.0","id":null,"method":"ping"}');
    client.writeLine("[]");
    client.child.stdin!.write(Buffer.concat([randomBytes(256).map((b) => (b === 10 ? 32 : b)), Buffer.from("\n")]));
    client.writeLine("[".repeat(100_000) + "]".repeat(100_000));

    // A line over the limit is dropped without buffering it; SDK clients put the id last, so it is answered.
    const huge = { method: "tools/call", params: { name: "echo", arguments: { message: "x".repeat(10_000) } }, jsonrpc: "2.0", id: 42 };
    client.writeLine(JSON.stringify(huge));
    const tooBig = await client.responseTo(42);
    assert.equal(tooBig.error.code, -32600);
    assert.match(tooBig.error.message, /exceeds the 4096-byte limit/);
    // Clients that write the id first are answered too.
    client.writeLine(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 43,
        method: "tools/call",
        params: { name: "echo", arguments: { message: "y".repeat(10_000) } },
      }),
    );
    assert.equal((await client.responseTo(43)).error.code, -32600);
    // An oversized *answer* to a server request is dropped silently: replying would use an id the client never sent.
    client.writeLine(JSON.stringify({ jsonrpc: "2.0", id: 44, result: { content: "z".repeat(10_000), method: "looks like one" } }));
    await client.request("ping");
    assert.ok(!client.received.some((m) => m.id === 44), "no answer to an oversized response");

    // 2025-03-26 batch: one array of answers, invalid members answered inside it.
    client.send([
      { jsonrpc: "2.0", id: 20, method: "ping" },
      { jsonrpc: "2.0", method: "notifications/roots/list_changed" },
      { jsonrpc: "2.0", id: 21, method: "tools/call", params: { name: "echo", arguments: { message: "batched" } } },
      { jsonrpc: "1.0", id: 22, method: "ping" },
    ]);
    const batchLine = await new Promise<string>((resolve) => {
      const check = () => client.rawLines.find((line) => line.startsWith("[")) ?? undefined;
      const found = check();
      if (found) return resolve(found);
      client.child.stdout!.on("data", () => {
        const line = check();
        if (line) resolve(line);
      });
    });
    const batch = JSON.parse(batchLine) as Array<Record<string, any>>;
    assert.deepEqual(batch.map((m) => m.id).sort(), [20, 21, 22]);
    assert.equal(batch.find((m) => m.id === 22)!.error.code, -32600);
    assert.equal(textOf(batch.find((m) => m.id === 21)!), "Echo: batched");

    assert.equal(textOf(await client.callTool("echo", { message: "alive" })), "Echo: alive");
    assert.equal(client.child.exitCode, null);
    const nullIds = client.received.filter((m) => !Array.isArray(m) && m.id === null);
    assert.ok(
      nullIds.every((m) => m.error.code === -32700),
      "id null appears on parse errors only",
    );
    // One parse error each for: the text line, the random bytes (cannot be JSON), and the over-deep nesting
    // when it is too deep to parse; the addressless messages produced nothing.
    assert.ok(nullIds.length >= 2 && nullIds.length <= 3, `parse errors: ${nullIds.length}`);
  });

  test("server/discover (MCP 2026-07-28 probe) is answered at once with method-not-found, even with no daemon up", async (t) => {
    // Nothing listens here: the answer cannot have come from a daemon.
    const client = new ProxyClient(t, ["--url", "http://127.0.0.1:1/mcp"]);
    const answer = await client.request("server/discover", {});
    assert.equal(answer.error.code, -32601);
  });

  test("a response for an id the client never sent, or cancelled, is never relayed", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const client = new ProxyClient(t, ["--url", server.url]);
    await client.initialize();
    const id = client.start("tools/call", { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 1 } });
    client.notify("notifications/cancelled", { requestId: id, reason: "test" });
    // Ask for something that finishes after the cancelled call would have.
    const later = await client.callTool("trigger-long-running-operation", { duration: 0.5, steps: 1 });
    assert.match(textOf(later), /completed/);
    assert.ok(!client.received.some((m) => m.id === id), "nothing for the cancelled id");
  });
});

describe("mcp-proxy command line", () => {
  test("a usage error is one clear line on stderr and exit code 2; --help and --version print to stdout", async () => {
    const { spawnSync } = await import("node:child_process");
    const { PROXY } = await import("./helpers/paths.js");
    const run = (...args: string[]) => spawnSync(process.execPath, [PROXY, ...args], { encoding: "utf8", input: "" });
    const none = run();
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^mcp-proxy: give --target NAME \(from the config\) or --url URL/);
    assert.equal(none.stdout, "", "stdout belongs to the protocol");
    const both = run("--target", "a", "--url", "http://127.0.0.1:1/mcp");
    assert.match(both.stderr, /give --target or --url, not both/);
    assert.match(
      run("--url", "http://127.0.0.1:1/mcp", "--transport", "ws").stderr,
      /--transport must be one of streamable-http, sse, http/,
    );
    for (const url of ["127.0.0.1:1/mcp", "ftp://127.0.0.1:1/mcp"]) {
      const wrong = run("--url", url);
      assert.equal(wrong.status, 2);
      assert.match(wrong.stderr, /is not an http\(s\) URL/);
    }
    assert.match(run("--help").stdout, /Usage: mcp-proxy --target NAME/);
    assert.match(run("--version").stdout, /^\d+\.\d+\.\d+/);
  });
});
