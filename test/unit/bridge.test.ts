import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bridge } from "../../src/relay/bridge.js";
import { UpstreamError } from "../../src/upstream/upstream-error.js";
import { settle } from "./helpers/recording-session.js";
import { FakeUpstream } from "./helpers/fake-upstream.js";
import { until } from "../helpers/bounded.js";

function bridge(
  options: {
    connectError?: Error;
    connectHangs?: boolean;
    handshakeTimeoutMs?: number;
    hangFrom?: number;
    server?: boolean;
    /** Every session, once set up, refuses every message unseen. */
    refuseUnseen?: UpstreamError;
  } = {},
) {
  const upstreams: FakeUpstream[] = [];
  const written: string[] = [];
  const logged: string[] = [];
  const core = new Bridge({
    connect: async () => {
      if (options.connectError) throw options.connectError;
      if (options.connectHangs) return new Promise<never>(() => {});
      const upstream = new FakeUpstream();
      upstream.hangs = options.hangFrom !== undefined && upstreams.length >= options.hangFrom;
      upstream.ownDaemon = !options.server;
      upstream.refuseAfterHandshake = options.refuseUnseen;
      upstreams.push(upstream);
      return upstream;
    },
    write: (line) => written.push(typeof line === "string" ? line : Buffer.concat(line).toString()),
    log: (line) => logged.push(line),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 1000,
  });
  const output = () => written.map((line) => JSON.parse(line) as Record<string, unknown>);
  const current = () => upstreams.at(-1)!;
  return { core, upstreams, written, logged, output, current };
}

const line = (value: unknown) => JSON.stringify(value);
const INITIALIZE = { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {} } };

async function initialized(options: Parameters<typeof bridge>[0] = {}) {
  const setup = bridge(options);
  setup.core.handleLine(line(INITIALIZE));
  await settle();
  setup.core.handleLine(line({ jsonrpc: "2.0", method: "notifications/initialized" }));
  await settle();
  setup.written.length = 0;
  return setup;
}

describe("bridge: the proxy's core between stdin/stdout and one daemon session", () => {
  test("bad input: -32700 with id null, -32600 with the id when usable, nothing for the rest; never fatal", async () => {
    const { core, output, logged, upstreams } = bridge();
    core.handleLine("{oops");
    core.handleLine(line({ jsonrpc: "2.0", id: 5, method: 12 }));
    core.handleLine(line({ jsonrpc: "2.0", method: 12 }));
    core.handleLine("[]");
    await settle();
    assert.deepEqual(
      output().map((m) => [m.id, (m.error as { code: number }).code]),
      [
        [null, -32700],
        [5, -32600],
      ],
    );
    assert.equal(logged.length, 2);
    assert.equal(upstreams.length, 0, "nothing reached the daemon");
  });

  test("server/discover is answered at once with -32601, without waiting for a daemon", async () => {
    const { core, output, upstreams } = bridge();
    core.handleLine(line({ jsonrpc: "2.0", id: "d", method: "server/discover" }));
    assert.equal((output()[0]!.error as { code: number }).code, -32601);
    assert.equal(upstreams.length, 0);
  });

  test("a batch is answered with one array, invalid members included, once every request has its answer", async () => {
    const { core, current, written } = await initialized();
    core.handleLine(
      line([
        { jsonrpc: "2.0", id: 1, method: "tools/list" },
        { jsonrpc: "2.0", id: 2, method: 7 },
        { jsonrpc: "2.0", id: 3, method: "ping" },
      ]),
    );
    await settle();
    current().answer({ jsonrpc: "2.0", id: 3, result: {} });
    assert.equal(written.length, 0, "not before the last answer");
    current().answer({ jsonrpc: "2.0", id: 1, result: { tools: [] } });
    const batch = JSON.parse(written[0]!) as Array<{ id: number }>;
    assert.deepEqual(batch.map((m) => m.id).sort(), [1, 2, 3]);
  });

  test("a batch with a request the client cancelled is still answered, as one array without it", async () => {
    const { core, current, written } = await initialized();
    core.handleLine(
      line([
        { jsonrpc: "2.0", id: 1, method: "tools/call" },
        { jsonrpc: "2.0", id: 2, method: "tools/list" },
      ]),
    );
    core.handleLine(line({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } }));
    await settle();
    current().answer({ jsonrpc: "2.0", id: 2, result: { tools: [] } });
    assert.deepEqual(JSON.parse(written[0]!), [{ jsonrpc: "2.0", id: 2, result: { tools: [] } }]);
  });

  test("answers only for open requests: a cancelled request's late answer and unknown ids are dropped", async () => {
    const { core, current, written } = await initialized();
    core.handleLine(line({ jsonrpc: "2.0", id: 9, method: "tools/call" }));
    core.handleLine(line({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 9 } }));
    await settle();
    current().answer({ jsonrpc: "2.0", id: 9, result: {} });
    current().answer({ jsonrpc: "2.0", id: 77, result: {} });
    assert.deepEqual(written, []);
    assert.equal(current().sent.filter((m) => "method" in m && m.method === "notifications/cancelled").length, 1);
  });

  test("a large answer the transport did not parse goes out as its bytes when it answers an open request, else is declined", async () => {
    const { core, current, written } = await initialized();
    const pieces = [Buffer.from('{"jsonrpc":"2.0","id":3,'), Buffer.from('"result":{"big":true}}')];
    assert.equal(current().onlargeanswer?.(3, pieces), false, "no such request: declined, to be parsed and dropped as usual");
    core.handleLine(line({ jsonrpc: "2.0", id: 3, method: "tools/call" }));
    await settle();
    assert.equal(current().onlargeanswer?.(3, pieces), true);
    assert.deepEqual(written, ['{"jsonrpc":"2.0","id":3,"result":{"big":true}}']);
    assert.equal(current().onlargeanswer?.(3, pieces), false, "answered once only");
    // The client's own initialize is read by the proxy (its result is replayed later): always parsed.
    core.handleLine(line({ ...INITIALIZE, id: 4 }));
    assert.equal(current().onlargeanswer?.(4, [Buffer.from('{"jsonrpc":"2.0","id":4,"result":{}}')]), false);
  });

  test("a message no new session takes is sent again a few times, then fails with the reason: never round for ever", async () => {
    const refusal = new UpstreamError("cannot reach the server (EPROTO)", "unreachable", { delivered: false });
    const { core, upstreams, output } = await initialized({ refuseUnseen: refusal });
    core.handleLine(line({ jsonrpc: "2.0", id: 9, method: "tools/list" }));
    await until(() => output().some((m) => m.id === 9), "the call to be answered");
    assert.equal((output().find((m) => m.id === 9)!.error as { message: string }).message, "mcp-proxy: cannot reach the server (EPROTO)");
    // Each loss, even one that a send of the just-flushed queue caused, was followed by a new session: 5 resends.
    assert.ok(upstreams.length >= 6 && upstreams.length <= 8, `a new session per resend, and no more (${upstreams.length})`);
  });

  test("a drain notice from a peer that is not our daemon is only a notification: relayed, never obeyed", async () => {
    const { upstreams, output } = await initialized({ server: true });
    const notice = { jsonrpc: "2.0" as const, method: "mcp-session-manager/draining", params: { reason: "a server says so" } };
    upstreams[0]!.answer(notice);
    await settle();
    assert.equal(upstreams.length, 1, "no new session was opened");
    assert.equal(upstreams[0]!.closed, false, "the server's session stays open");
    assert.deepEqual(output(), [notice], "the client sees what the server sent");
  });

  test("a daemon being replaced: new messages go to the new daemon, the old one answers what it had, then is closed", async () => {
    const { core, upstreams, output, logged } = await initialized();
    const old = upstreams[0]!;
    core.handleLine(line({ jsonrpc: "2.0", id: "long", method: "tools/call", params: { name: "slow" } }));
    core.handleLine(line({ jsonrpc: "2.0", id: "cancelled", method: "tools/call", params: { name: "slow" } }));
    await settle();
    old.answer({ jsonrpc: "2.0", method: "mcp-session-manager/draining", params: { reason: "mcp-manager restart" } });
    await settle();
    assert.equal(upstreams.length, 2, "a session with the new daemon");
    const next = upstreams[1]!;
    assert.equal(next.requests("initialize").length, 1, "the handshake replayed there");
    assert.match(logged.join("\n"), /the daemon is being replaced \(mcp-manager restart\)/);

    core.handleLine(line({ jsonrpc: "2.0", id: "new", method: "tools/list" }));
    core.handleLine(line({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "cancelled" } }));
    await settle();
    assert.equal(next.requests("tools/list").length, 1, "a new request goes to the new daemon");
    assert.equal(old.requests("tools/list").length, 0);
    assert.equal(
      old.sent.filter((m) => "method" in m && m.method === "notifications/cancelled").length,
      1,
      "the cancel goes where its request runs",
    );
    assert.equal(next.sent.filter((m) => "method" in m && m.method === "notifications/cancelled").length, 0);

    // The old daemon still speaks for what it runs: progress, a server request (answered back to it), the answer.
    old.answer({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: "p", progress: 1 } });
    old.answer({ jsonrpc: "2.0", id: 41, method: "sampling/createMessage", params: {} });
    core.handleLine(line({ jsonrpc: "2.0", id: 41, result: { content: { type: "text", text: "ok" } } }));
    await settle();
    assert.ok(
      old.sent.some((m) => !("method" in m) && m.id === 41),
      "the client's answer goes to the daemon that asked",
    );
    assert.ok(!next.sent.some((m) => !("method" in m) && m.id === 41));
    assert.equal(old.closed, false, "open while its call runs");
    old.answer({ jsonrpc: "2.0", id: "long", result: { content: [] } });
    next.answer({ jsonrpc: "2.0", id: "new", result: { tools: [] } });
    await settle();
    assert.equal(old.closed, true, "closed once nothing waits on it");
    assert.deepEqual(
      output().map((m) => m.id ?? m.method),
      ["notifications/tools/list_changed", "notifications/progress", 41, "long", "new"],
      "the client sees every message and no disconnect (the new daemon's tools may differ: it is told to look again)",
    );
  });

  test("a daemon being replaced that dies before answering: its calls fail with their ids, the new session goes on", async () => {
    const { core, upstreams, output } = await initialized();
    core.handleLine(line({ jsonrpc: "2.0", id: 1, method: "tools/call" }));
    await settle();
    upstreams[0]!.answer({ jsonrpc: "2.0", method: "mcp-session-manager/draining", params: { reason: "upgrade" } });
    await settle();
    upstreams[0]!.onlost("the drain timed out");
    core.handleLine(line({ jsonrpc: "2.0", id: 2, method: "ping" }));
    await settle();
    upstreams[1]!.answer({ jsonrpc: "2.0", id: 2, result: {} });
    assert.deepEqual(
      output()
        .filter((m) => m.id !== undefined)
        .map((m) => [m.id, m.error ? "error" : "result"]),
      [
        [1, "error"],
        [2, "result"],
      ],
    );
  });

  test("a lost daemon session: the request it had fails with its id, the handshake is replayed, list_changed is announced", async () => {
    const { core, upstreams, current, output } = await initialized();
    core.handleLine(line({ jsonrpc: "2.0", id: 1, method: "tools/call" }));
    await settle();
    const first = current();
    first.onlost("the daemon closed the session socket");
    await settle();
    assert.equal(upstreams.length, 2, "rebuilt at once");
    const replay = current().requests("initialize")[0] as { id: string; params: unknown };
    assert.match(replay.id, /^mcp-proxy-reinitialize-/);
    assert.deepEqual(replay.params, INITIALIZE.params);
    const messages = output();
    assert.match((messages.find((m) => m.id === 1)!.error as { message: string }).message, /may not have completed/);
    assert.ok(messages.some((m) => m.method === "notifications/tools/list_changed"));
    assert.ok(current().sent.some((m) => "method" in m && m.method === "notifications/initialized"));
    assert.ok(
      !messages.some((m) => typeof m.id === "string" && m.id.startsWith("mcp-proxy-")),
      "the replay's answer never reaches the client",
    );
  });

  test("a new session that never answers the replayed handshake: given up within the bound, closed, its queue answered", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const { core, upstreams, current, output } = await initialized({ handshakeTimeoutMs: 100, hangFrom: 1 });
      current().onlost("the server restarted");
      core.handleLine(line({ jsonrpc: "2.0", id: 5, method: "tools/list" }));
      await until(() => output().some((m) => m.id === 5), "the queued call to be answered");
      assert.match((output().find((m) => m.id === 5)!.error as { message: string }).message, /did not answer the replayed initialize/);
      assert.equal(upstreams.length, 2);
      assert.ok(upstreams[1]!.requests("initialize").length === 1 && upstreams[1]!.closed, "the hung session was tried, then closed");
      await settle();
      assert.deepEqual(unhandled, [], "no promise left rejected without a handler");
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  test("a lost session is retired, not cut off: a call still in flight there is answered, and closing the link closes it", async () => {
    const { core, current, output } = await initialized();
    const lost = current();
    lost.hangs = true; // its POST is still open when the event stream breaks
    core.handleLine(line({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "slow" } }));
    await settle();
    lost.onlost("event stream broke");
    await settle();
    assert.ok(lost.retired && !lost.closed, "retired, its connections left to finish");
    lost.answer({ jsonrpc: "2.0", id: 3, result: { content: [] } });
    assert.deepEqual(output().find((m) => m.id === 3)!.result, { content: [] }, "answered on its own exchange");
    await core.close(100);
    assert.ok(lost.closed, "closed outright with the link");
  });

  test("a message the daemon never received is sent again on the new session; the client never knows", async () => {
    const { core, upstreams, current, output } = await initialized();
    current().failWith = new UpstreamError("connection refused", "unreachable", { delivered: false });
    core.handleLine(line({ jsonrpc: "2.0", id: 4, method: "tools/list" }));
    await settle();
    assert.equal(upstreams.length, 2);
    assert.equal(current().requests("tools/list").length, 1);
    current().answer({ jsonrpc: "2.0", id: 4, result: { tools: [] } });
    assert.deepEqual(output().find((m) => m.id === 4)!.result, { tools: [] });
  });

  test("answers from a daemon session already given up on are dropped, even with a matching id", async () => {
    const { core, current, written } = await initialized();
    const old = current();
    old.onlost("gone");
    await settle();
    core.handleLine(line({ jsonrpc: "2.0", id: 8, method: "tools/list" }));
    await settle();
    old.answer({ jsonrpc: "2.0", id: 8, result: { stale: true } });
    old.answer({ jsonrpc: "2.0", method: "notifications/message", params: {} });
    assert.ok(!written.some((text) => text.includes("stale") || text.includes("notifications/message")));
  });

  test("while the session is set up, what waits is bounded: past 10,000 messages a request fails, a notification is dropped", async () => {
    const { core, output, logged } = bridge({ connectHangs: true });
    core.handleLine(line(INITIALIZE));
    for (let i = 0; i < 10_000; i++) core.handleLine(line({ jsonrpc: "2.0", method: "notifications/message", params: { i } }));
    core.handleLine(line({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 99 } }));
    core.handleLine(line({ jsonrpc: "2.0", id: 7, method: "tools/list" }));
    await settle();
    assert.match((output().find((m) => m.id === 7)!.error as { message: string }).message, /more than 10000 messages are waiting/);
    assert.ok(!output().some((m) => m.id === 0), "the initialize queued first still waits");
    assert.ok(logged.some((text) => /dropped a notifications\/cancelled: more than 10000/.test(text)));
  });

  test("no daemon: queued requests are answered with the reason", async () => {
    const { core, output } = bridge({ connectError: new Error('server "x" is disabled in the config') });
    core.handleLine(line(INITIALIZE));
    await settle();
    assert.match((output()[0]!.error as { message: string }).message, /disabled in the config/);
  });

  test("a full stdout pauses the daemon session; close answers what is open and ends the session", async () => {
    const { core, current, output } = await initialized();
    core.clientBackedUp(true);
    assert.equal(current().paused, true);
    core.clientBackedUp(false);
    assert.equal(current().paused, false);
    core.handleLine(line({ jsonrpc: "2.0", id: 6, method: "tools/call" }));
    await settle();
    let idle = false;
    void core.whenIdle().then(() => (idle = true));
    await core.close(100, "mcp-proxy is shutting down (SIGTERM)");
    await settle();
    assert.match((output().find((m) => m.id === 6)!.error as { message: string }).message, /SIGTERM/);
    assert.equal(current().closed, true);
    assert.equal(idle, true);
  });
});
