import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { configuredHome, probeServer, type Route } from "./helpers/daemon-home.js";
import { join } from "node:path";
import { PROBE_SERVER, ROOT } from "./helpers/paths.js";
import { tempDir } from "./helpers/temp-dir.js";
import { ProxyClient, textOf, type Message } from "./helpers/proxy-client.js";

/** Well past the size from which lines are relayed as the bytes they came in (protocol/large-lines.ts). */
const CHARS = 300_000;
const FORMS = ["id-first", "id-last", "nested-id"] as const;
const OFFICIAL_MEMORY = `${ROOT}node_modules/@modelcontextprotocol/server-memory/dist/index.js`;

/** The probe's `large` answer to `id`, from the probe spawned directly: what every path must give the client. */
async function directAnswer(t: TestContext, form: string, id: string | number): Promise<Message> {
  const direct = new ProxyClient(t, [], { command: [PROBE_SERVER] });
  await direct.initialize();
  return direct.request("tools/call", { name: "large", arguments: { chars: CHARS, form } }, id);
}

async function proxyFor(t: TestContext, route: Route): Promise<ProxyClient> {
  const daemon = configuredHome(t, { probe: probeServer() }, {}, { route });
  const proxy = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
  await proxy.initialize();
  return proxy;
}

for (const route of ["session socket", "HTTP"] as const) {
  describe(`large messages through mcp-proxy and the daemon (${route})`, () => {
    test("a large answer reaches the client exactly as the server wrote it, under the client's id, in each key order servers use", async (t) => {
      const proxy = await proxyFor(t, route);
      for (const form of FORMS) {
        for (const id of [proxy.newId(), `large-${form}`]) {
          const answer = await proxy.request("tools/call", { name: "large", arguments: { chars: CHARS, form } }, id);
          assert.deepEqual(answer, await directAnswer(t, form, id), `${form}, id ${JSON.stringify(id)}`);
          assert.equal(textOf(answer).length, CHARS);
        }
      }
      // The session goes on as before: small messages, and a large one again.
      assert.equal(textOf(await proxy.callTool("echo", { message: "after" })), "after");
      const again = await proxy.callTool("large", { chars: CHARS, form: "id-last" });
      assert.equal(textOf(again).length, CHARS);
    });

    test("odd and hostile answers (a repeated or escaped id naming another open request, a CR inside) arrive as one clean line under the caller's id", async (t) => {
      const proxy = await proxyFor(t, route);
      const open = proxy.start("tools/call", { name: "sleep", arguments: { ms: 300 } });
      for (const form of ["duplicate-id", "escaped-id", "cr"]) {
        const id = proxy.newId();
        const answer = await proxy.request("tools/call", { name: "large", arguments: { chars: CHARS, form, guess: open } }, id);
        assert.equal(textOf(answer).length, CHARS, form);
        const raw = proxy.rawLines[proxy.received.indexOf(answer)]!;
        assert.equal(raw.split('"id"').length - 1, 1, `${form}: one id in the line`);
        assert.ok(!raw.includes("\r") && !raw.includes("\\u0069d"), `${form}: written anew`);
      }
      const slept = await proxy.responseTo(open);
      assert.match(textOf(slept), /^slept 300 ms/, "the request the child named is answered by its own answer");
      assert.equal(proxy.received.filter((m) => m.id === open).length, 1);
    });

    test("a large request reaches the server whole, in each key order clients use, and is answered under its id", async (t) => {
      const proxy = await proxyFor(t, route);
      const message = "request é€ 😀 ".repeat(30_000);
      const params = (extra: Record<string, unknown> = {}) => JSON.stringify({ name: "echo", arguments: { message, ...extra } });
      // Ids far from the daemon's own for the child, so that an id not rewritten could not pass for one.
      const lines = (id: number | string) => {
        const own = JSON.stringify(id);
        return [
          // As JSON.stringify writes it from this object: the id second.
          `{"jsonrpc":"2.0","id":${own},"method":"tools/call","params":${params()}}`,
          // As the MCP TypeScript SDK writes it: the id last.
          `{"method":"tools/call","params":${params()},"jsonrpc":"2.0","id":${own}}`,
          // Another "id" inside, and a progress token the daemon renames for the child.
          `{"method":"tools/call","params":${params({ id: "inside" })},"jsonrpc":"2.0","id":${own}}`,
          `{"method":"tools/call","params":${JSON.stringify({ name: "echo", arguments: { message }, _meta: { progressToken: "p" } })},"jsonrpc":"2.0","id":${own}}`,
        ];
      };
      for (let form = 0; form < 4; form++) {
        for (const id of [5000 + form, `large-request-${form}`]) {
          proxy.writeLine(lines(id)[form]!);
          const answer = await proxy.responseTo(id);
          assert.equal(textOf(answer), message, `form ${form}, id ${JSON.stringify(id)}`);
        }
      }
    });

    test("a large notification reaches the client whole, before the answer it came with", async (t) => {
      const proxy = await proxyFor(t, route);
      const id = proxy.newId();
      const answer = await proxy.request("tools/call", { name: "large", arguments: { chars: CHARS, form: "id-first", notify: true } }, id);
      const at = proxy.received.indexOf(answer);
      const note = proxy.received.findIndex((m) => m.method === "notifications/message");
      assert.ok(note >= 0 && note < at, "the log message first");
      assert.equal(proxy.received[note]!.params.data, textOf(answer));
    });
  });
}

test("the official memory server's large read_graph (its SDK writes the id last) reaches the client as from the server itself", async (t) => {
  const file = join(tempDir(t), "memory.jsonl");
  const env = { ...process.env, MEMORY_FILE_PATH: file };
  const direct = new ProxyClient(t, [], { env, command: [OFFICIAL_MEMORY] });
  await direct.initialize();
  const entities = Array.from({ length: 1500 }, (_, i) => ({
    name: `entity-${i}`,
    entityType: "note",
    observations: [`observation ${i}: ${"é€ words ".repeat(8)}`],
  }));
  assert.ok(!(await direct.callTool("create_entities", { entities })).error);
  const expected = await direct.callTool("read_graph", {});
  assert.ok(JSON.stringify(expected).length > 200_000, "well past the size relayed as bytes");

  const daemon = configuredHome(t, { memory: { command: process.execPath, args: [OFFICIAL_MEMORY], env: { MEMORY_FILE_PATH: file } } });
  const proxy = new ProxyClient(t, ["--target", "memory"], { env: daemon.env });
  await proxy.initialize();
  for (const id of [proxy.newId(), "graph"]) {
    const answer = await proxy.request("tools/call", { name: "read_graph", arguments: {} }, id);
    assert.deepEqual(answer, { ...expected, id });
  }
});

test("an answer past the daemon's 64 MiB line limit fails its request with the reason; the session goes on", async (t) => {
  const daemon = configuredHome(t, { probe: probeServer() });
  const proxy = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
  await proxy.initialize();
  // About 74 MB of UTF-8: "graph é€ 😀 " is 17 bytes in 12 UTF-16 code units.
  const answer = await proxy.callTool("large", { chars: 52_000_000, form: "id-last" });
  assert.match(answer.error?.message ?? "", /answer of \d+ bytes exceeds mcp-session-manager's 67108864-byte limit/);
  assert.equal(textOf(await proxy.callTool("echo", { message: "still here" })), "still here");
});
