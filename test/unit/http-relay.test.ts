import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpRelay } from "../../src/daemon/http-relay.js";
import type { SessionPort } from "../../src/daemon/backend.js";
import type { JsonRpcMessage } from "../../src/protocol/json-rpc.js";
import { FakeUpstream } from "./helpers/fake-upstream.js";
import { RecordingSession, settle } from "./helpers/recording-session.js";

const INITIALIZE = { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {} } } as const;
const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" } as const;
const call = (id: number, message: string) =>
  ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { message } } }) as const;

function relay(options: { connectError?: Error } = {}) {
  const upstreams = new Map<SessionPort, FakeUpstream[]>();
  const events: string[] = [];
  const backend = new HttpRelay({
    connect: async (session) => {
      if (options.connectError) throw options.connectError;
      const upstream = new FakeUpstream();
      upstreams.set(session, [...(upstreams.get(session) ?? []), upstream]);
      const close = upstream.close.bind(upstream);
      upstream.close = () => (events.push(`closed ${session.id}`), close());
      return upstream;
    },
    handshakeTimeoutMs: 1000,
    status: () => ({ state: "ready", pid: 42 }),
    stopServer: async () => void events.push("server stopped"),
    log: () => {},
  });
  const of = (session: SessionPort) => upstreams.get(session) ?? [];
  const send = (session: SessionPort, message: JsonRpcMessage) => backend.handle(session, message, JSON.stringify(message));
  return { backend, of, events, send };
}

async function opened(r: ReturnType<typeof relay>, session: RecordingSession): Promise<FakeUpstream> {
  r.backend.attach(session);
  r.send(session, INITIALIZE);
  await settle();
  r.send(session, INITIALIZED);
  await settle();
  return r.of(session).at(-1)!;
}

describe("HttpRelay: each daemon session with a session of its own on an HTTP server", () => {
  test("sessions never share an upstream: what each sends and gets stays its own", async () => {
    const r = relay();
    const [a, b] = [new RecordingSession("/a"), new RecordingSession("/b")];
    const [upA, upB] = [await opened(r, a), await opened(r, b)];
    assert.notEqual(upA, upB);
    r.send(a, call(1, "from a"));
    r.send(b, call(1, "from b"));
    await settle();
    assert.deepEqual(
      upA.requests("tools/call").map((m) => ("params" in m ? m.params?.arguments : undefined)),
      [{ message: "from a" }],
    );
    assert.deepEqual(
      upB.requests("tools/call").map((m) => ("params" in m ? m.params?.arguments : undefined)),
      [{ message: "from b" }],
    );
    upB.answer({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "b's answer" }] } });
    await settle();
    assert.equal(a.hasAnswer(1), false, "a never sees b's answer");
    assert.deepEqual(b.answer(1).result, { content: [{ type: "text", text: "b's answer" }] });
    assert.equal(b.delivered.at(-1)!.related, 1, "an answer is tied to the request it answers (an HTTP session's exchange)");
    assert.equal(r.backend.sessionCount, 2);
    assert.equal(r.backend.status().sessions, 2);
  });

  test("a server that restarted is hidden: the session's handshake is replayed on a new upstream, its call answered", async () => {
    const r = relay();
    const a = new RecordingSession();
    const first = await opened(r, a);
    first.onlost("the server exited");
    await settle();
    const second = r.of(a).at(-1)!;
    assert.notEqual(second, first, "a new upstream session");
    assert.equal(second.requests("initialize").length, 1, "the handshake was replayed");
    r.send(a, call(2, "after"));
    await settle();
    second.answer({ jsonrpc: "2.0", id: 2, result: { content: [] } });
    await settle();
    assert.ok(a.answer(2).result, "answered on the new upstream");
    assert.equal(a.messages().filter((m) => "error" in m).length, 0, "the session saw no error");
  });

  test("a session that ends closes its upstream alone; stopping closes every one, then the server", async () => {
    const r = relay();
    const [a, b] = [new RecordingSession(), new RecordingSession()];
    await opened(r, a);
    await opened(r, b);
    r.send(b, call(3, "pending"));
    await settle();
    r.backend.detach(a);
    await settle();
    assert.deepEqual(r.events, [`closed ${a.id}`]);
    await r.backend.stop();
    assert.deepEqual(r.events, [`closed ${a.id}`, `closed ${b.id}`, "server stopped"]);
    assert.match(b.answer(3).error?.message ?? "", /the daemon is stopping/, "what was in flight is answered, not dropped");
  });

  test("a server that cannot start: the session's initialize is answered with why", async () => {
    const r = relay({ connectError: new Error("the HTTP server exited with code 3 during start-up") });
    const a = new RecordingSession();
    r.backend.attach(a);
    r.send(a, INITIALIZE);
    await settle();
    assert.match(a.answer(0).error?.message ?? "", /exited with code 3 during start-up/);
  });

  test("a server's large answer that repeats its id reaches the session with one id, the one its parse kept", async () => {
    const r = relay();
    const a = new RecordingSession();
    const upstream = await opened(r, a);
    r.send(a, call(1, "big"));
    await settle();
    const raw = `{"jsonrpc":"2.0","id":7,"result":{"pad":"${"x".repeat(70_000)}"},"id":1}`;
    upstream.onmessage(JSON.parse(raw) as JsonRpcMessage, raw);
    await settle();
    const text = a.delivered.find(({ message }) => "id" in message && message.id === 1)?.text;
    assert.equal(typeof text, "string");
    assert.equal((text as string).match(/"id"/g)?.length, 1, "one id in the line");
    assert.equal((JSON.parse(text as string) as { id: number }).id, 1);
  });
});
