import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SessionRouter } from "../../src/daemon/session-router.js";
import { MAX_IN_FLIGHT_PER_SESSION } from "../../src/daemon/in-flight-limit.js";
import { RETRY_FAILED_AFTER_MS } from "../../src/daemon/supervised-child.js";
import type { JsonRpcMessage, JsonRpcRequest } from "../../src/protocol/json-rpc.js";
import { INITIALIZE_RESULT, fakeSpawner } from "./helpers/fake-child.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { RecordingSession, settle } from "./helpers/recording-session.js";

const START_TIMEOUT_MS = 5000;

function router(options: { answersInitialize?: boolean; limit?: number; backoffMs?: number; prefix?: string; failSpawns?: number } = {}) {
  const clock = new ManualClock();
  const spawner = fakeSpawner({ answersInitialize: options.answersInitialize ?? true, failSpawns: options.failSpawns ?? 0 });
  const lines: string[] = [];
  const core = new SessionRouter({
    child: {
      spec: { command: "fake-server", args: [], env: {} },
      spawn: spawner.spawn,
      clock,
      restart: { limit: options.limit ?? 3, backoffMs: options.backoffMs ?? 1000 },
      startTimeoutMs: START_TIMEOUT_MS,
      logFile: "/tmp/fake.log",
      log: (line) => lines.push(line),
    },
    ...(options.prefix ? { serverRequestIdPrefix: options.prefix } : {}),
  });
  return { core, clock, spawner, lines, child: spawner.current };
}

const request = (id: string | number, method: string, params?: Record<string, unknown>): JsonRpcRequest => ({
  jsonrpc: "2.0",
  id,
  method,
  ...(params ? { params } : {}),
});
const notification = (method: string, params?: Record<string, unknown>): JsonRpcMessage => ({
  jsonrpc: "2.0",
  method,
  ...(params ? { params } : {}),
});
/** A client that can be asked everything (roots, sampling, elicitation), unless told otherwise. */
const EVERY_CAPABILITY = { roots: { listChanged: true }, sampling: {}, elicitation: {} };
const initialize = (id: string | number = 0, protocolVersion = "2025-06-18", capabilities: Record<string, unknown> = EVERY_CAPABILITY) =>
  request(id, "initialize", { protocolVersion, capabilities, clientInfo: { name: "test", version: "1" } });

/** A router with `count` sessions attached and initialized. */
async function withSessions(count: number, options: Parameters<typeof router>[0] = {}) {
  const setup = router(options);
  const sessions = Array.from({ length: count }, () => new RecordingSession());
  for (const session of sessions) {
    setup.core.attach(session);
    setup.core.handle(session, initialize());
    await settle();
    setup.core.handle(session, notification("notifications/initialized"));
  }
  return { ...setup, sessions };
}

describe("session router: one child, many sessions", () => {
  test("initialize reaches the child once; later sessions get the kept answer in the version they asked for", async () => {
    const { core, child } = router();
    const a = new RecordingSession();
    const b = new RecordingSession();
    core.attach(a);
    core.attach(b);
    core.handle(a, initialize("a-init"));
    await settle();
    core.handle(b, initialize("b-init", "2025-03-26"));
    await settle();
    assert.equal(child().requests("initialize").length, 1);
    assert.deepEqual(a.answer("a-init").result, INITIALIZE_RESULT);
    assert.equal(b.answer("b-init").result?.protocolVersion, "2025-03-26");
    core.handle(a, notification("notifications/initialized"));
    core.handle(b, notification("notifications/initialized"));
    assert.equal(child().notifications("notifications/initialized").length, 1, "the child had its own, once");
  });

  test("ids and progress tokens are rewritten both ways; answers go to the session that asked", async () => {
    const { core, child, sessions } = await withSessions(2);
    const [a, b] = sessions as [RecordingSession, RecordingSession];
    core.handle(a, request(7, "tools/call", { name: "echo", _meta: { progressToken: "tok" } }));
    core.handle(b, request(7, "tools/call", { name: "echo" }));
    const [forA, forB] = child().requests("tools/call") as [JsonRpcRequest, JsonRpcRequest];
    assert.notEqual(forA.id, forB.id, "the same client id becomes two child ids");
    const childToken = (forA.params?._meta as { progressToken: string }).progressToken;
    assert.notEqual(childToken, "tok");
    child().emit(notification("notifications/progress", { progressToken: childToken, progress: 1 }));
    child().emit({ jsonrpc: "2.0", id: forB.id, result: { content: "b" } });
    child().emit({ jsonrpc: "2.0", id: forA.id, result: { content: "a" } });
    assert.deepEqual(a.answer(7).result, { content: "a" });
    assert.deepEqual(b.answer(7).result, { content: "b" });
    assert.deepEqual(a.withMethod("notifications/progress")[0]?.params, { progressToken: "tok", progress: 1 });
    assert.equal(b.withMethod("notifications/progress").length, 0);
  });

  test("a second request with an id still in flight gets -32600; the first is unaffected", async () => {
    const { core, child, sessions } = await withSessions(1);
    const a = sessions[0]!;
    core.handle(a, request(1, "tools/call"));
    core.handle(a, request(1, "tools/list"));
    assert.equal(a.answer(1).error?.code, -32600);
    assert.equal(child().requests("tools/list").length, 0);
    child().emit({ jsonrpc: "2.0", id: child().last("tools/call").id, result: { ok: true } });
    assert.equal(a.delivered.filter(({ message }) => "id" in message && message.id === 1).length, 2);
    assert.deepEqual((a.messages().at(-1) as { result: unknown }).result, { ok: true });
  });

  test("a session may have a bounded number of requests in flight; past it, an error, and other sessions are unaffected", async () => {
    const { core, child, sessions } = await withSessions(2);
    const [a, b] = [sessions[0]!, sessions[1]!];
    for (let id = 1; id <= MAX_IN_FLIGHT_PER_SESSION; id++) core.handle(a, request(id, "tools/call"));
    await settle();
    core.handle(a, request("one-too-many", "tools/call"));
    assert.match(a.answer("one-too-many").error?.message ?? "", /1000 requests in flight already/);
    assert.equal(child().requests("tools/call").length, MAX_IN_FLIGHT_PER_SESSION, "the extra one never reached the child");
    core.handle(b, request(1, "tools/call"));
    await settle();
    assert.equal(child().requests("tools/call").length, MAX_IN_FLIGHT_PER_SESSION + 1, "another session's request goes through");
    child().emit({ jsonrpc: "2.0", id: child().requests("tools/call")[0]!.id, result: {} });
    core.handle(a, request("room-again", "tools/call"));
    await settle();
    assert.equal(a.hasAnswer("room-again"), false, "once one is answered there is room again");
    assert.equal(child().requests("tools/call").length, MAX_IN_FLIGHT_PER_SESSION + 2, "and it reached the child");
  });

  test("requests the daemon answers itself (subscribe, setLevel) count toward the bound while they wait for the child", async () => {
    const { core, sessions } = await withSessions(1);
    const a = sessions[0]!;
    for (let id = 1; id <= MAX_IN_FLIGHT_PER_SESSION; id++) core.handle(a, request(id, "resources/subscribe", { uri: `res://${id}` }));
    await settle();
    core.handle(a, request("one-too-many", "tools/call"));
    assert.match(a.answer("one-too-many").error?.message ?? "", /requests in flight already/);
  });

  test("a cancel reaches the child under its id and drops the late answer; a cancel after the answer affects nothing later", async () => {
    const { core, child, sessions } = await withSessions(1);
    const a = sessions[0]!;
    core.handle(a, request(3, "tools/call"));
    const sent = child().last("tools/call");
    core.handle(a, notification("notifications/cancelled", { requestId: 3, reason: "user" }));
    assert.deepEqual(
      child().notifications("notifications/cancelled")[0],
      notification("notifications/cancelled", { requestId: sent.id, reason: "user" }),
    );
    child().emit({ jsonrpc: "2.0", id: sent.id, result: {} });
    assert.equal(a.hasAnswer(3), false, "the daemon core never answers a cancelled request (the HTTP front closes its exchange)");

    core.handle(a, request(4, "tools/call"));
    child().emit({ jsonrpc: "2.0", id: child().last("tools/call").id, result: { first: true } });
    core.handle(a, notification("notifications/cancelled", { requestId: 4 }));
    core.handle(a, request(4, "tools/call"));
    assert.equal(child().requests("tools/call").length, 3, "the reused id reaches the child");
    child().emit({ jsonrpc: "2.0", id: child().last("tools/call").id, result: { second: true } });
    assert.deepEqual((a.messages().at(-1) as { result: unknown }).result, { second: true });
  });

  test("server requests: to the one busy session under a fresh id; answered only by that session; refused when ambiguous", async () => {
    const { core, child, sessions } = await withSessions(2, { prefix: "run1-" });
    const [a, b] = sessions as [RecordingSession, RecordingSession];
    core.handle(a, request(1, "tools/call", { name: "sample" }));
    child().emit(request(99, "sampling/createMessage", { messages: [] }));
    const asked = a.withMethod("sampling/createMessage")[0]!;
    assert.equal(asked.id, "run1-1");
    assert.equal(b.withMethod("sampling/createMessage").length, 0);
    core.handle(b, { jsonrpc: "2.0", id: "run1-1", result: { forged: true } });
    assert.equal(child().received.filter((m) => !("method" in m)).length, 0, "B cannot answer what A was asked");
    core.handle(a, { jsonrpc: "2.0", id: "run1-1", result: { content: "yes" } });
    assert.deepEqual(child().received.at(-1), { jsonrpc: "2.0", id: 99, result: { content: "yes" } });

    core.handle(b, request(2, "tools/call"));
    child().emit(request(100, "elicitation/create", {}));
    const refusal = child().received.at(-1) as { id: number; error: { message: string } };
    assert.equal(refusal.id, 100);
    assert.match(refusal.error.message, /cannot tell which client session/);
  });

  test("server request ids differ between daemon runs, so a late answer to an earlier run never matches", async () => {
    const first = await withSessions(1);
    const second = await withSessions(1);
    for (const { core, child, sessions } of [first, second]) {
      core.handle(sessions[0]!, request(1, "tools/call"));
      child().emit(request(5, "roots/list"));
    }
    const idOf = (setup: typeof first) => setup.sessions[0]!.withMethod("roots/list")[0]!.id;
    assert.notEqual(idOf(first), idOf(second));
    second.core.handle(second.sessions[0]!, { jsonrpc: "2.0", id: idOf(first)!, result: { roots: [] } });
    assert.equal(second.child().received.filter((m) => !("method" in m)).length, 0);
  });

  test("subscriptions are counted: the child hears the first subscribe and the last unsubscribe", async () => {
    const { core, child, sessions } = await withSessions(2);
    const [a, b] = sessions as [RecordingSession, RecordingSession];
    core.handle(a, request(1, "resources/subscribe", { uri: "res://x" }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: child().last("resources/subscribe").id, result: {} });
    await settle();
    core.handle(b, request(1, "resources/subscribe", { uri: "res://x" }));
    await settle();
    assert.equal(child().requests("resources/subscribe").length, 1);
    assert.deepEqual(b.answer(1).result, {});
    child().emit(notification("notifications/resources/updated", { uri: "res://x" }));
    child().emit(notification("notifications/resources/updated", { uri: "res://other" }));
    assert.equal(a.withMethod("notifications/resources/updated").length, 1);
    assert.equal(b.withMethod("notifications/resources/updated").length, 1);
    core.handle(a, request(2, "resources/unsubscribe", { uri: "res://x" }));
    assert.equal(child().requests("resources/unsubscribe").length, 0, "B still listens");
    core.detach(b);
    assert.equal(child().requests("resources/unsubscribe").length, 1, "the last subscriber left");
  });

  test("a subscribe the child refuses is not counted: the asker gets the refusal, and the next subscribe asks the child again", async () => {
    const { core, child, sessions } = await withSessions(2);
    const [a, b] = sessions as [RecordingSession, RecordingSession];
    core.handle(a, request(1, "resources/subscribe", { uri: "res://x" }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: child().last("resources/subscribe").id, error: { code: -32602, message: "no such resource" } });
    await settle();
    assert.equal(a.answer(1).error?.message, "no such resource");
    core.handle(b, request(1, "resources/subscribe", { uri: "res://x" }));
    await settle();
    assert.equal(child().requests("resources/subscribe").length, 2, "B's subscribe reaches the child");
    child().emit({ jsonrpc: "2.0", id: child().last("resources/subscribe").id, result: {} });
    await settle();
    assert.deepEqual(b.answer(1).result, {});
    child().emit(notification("notifications/resources/updated", { uri: "res://x" }));
    assert.equal(a.withMethod("notifications/resources/updated").length, 0, "A, refused, hears nothing");
    assert.equal(b.withMethod("notifications/resources/updated").length, 1);
  });

  test("a subscribe whose session leaves, or unsubscribes, before the child answers counts for nobody", async () => {
    const { core, child, sessions } = await withSessions(2);
    const [a, b] = sessions as [RecordingSession, RecordingSession];
    core.handle(a, request(1, "resources/subscribe", { uri: "res://x" }));
    await settle();
    core.detach(a);
    child().emit({ jsonrpc: "2.0", id: child().last("resources/subscribe").id, result: {} });
    await new Promise((resolve) => setImmediate(resolve));
    await settle();
    assert.equal(child().requests("resources/unsubscribe").length, 1, "the child is told nobody wants it");

    core.handle(b, request(1, "resources/subscribe", { uri: "res://y" }));
    await settle();
    core.handle(b, request(2, "resources/unsubscribe", { uri: "res://y" }));
    assert.deepEqual(b.answer(2).result, {});
    child().emit({ jsonrpc: "2.0", id: child().last("resources/subscribe").id, result: {} });
    await new Promise((resolve) => setImmediate(resolve));
    await settle();
    assert.equal(child().requests("resources/unsubscribe").length, 2);
    child().emit(notification("notifications/resources/updated", { uri: "res://y" }));
    assert.equal(b.withMethod("notifications/resources/updated").length, 0, "B unsubscribed: it hears nothing");
  });

  test("a logging/setLevel the child refuses changes nothing for the other sessions; an unknown level is refused", async () => {
    const { core, child, sessions } = await withSessions(2);
    const [a, b] = sessions as [RecordingSession, RecordingSession];
    core.handle(b, request(1, "logging/setLevel", { level: "debug" }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: child().last("logging/setLevel").id, result: {} });
    await settle();
    core.handle(a, request(1, "logging/setLevel", { level: "error" }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: child().last("logging/setLevel").id, error: { code: -32603, message: "no" } });
    await settle();
    assert.equal(a.answer(1).error?.message, "no");
    child().emit(notification("notifications/message", { level: "info", data: "x" }));
    assert.equal(a.withMethod("notifications/message").length, 1, "A's refused level was not kept: info still reaches it");
    core.handle(a, request(2, "logging/setLevel", { level: "DEBUG" }));
    assert.equal(a.answer(2).error?.code, -32602);
    assert.equal(child().requests("logging/setLevel").length, 2, "an unknown level never reaches the child");
  });

  test("the child's log level follows the sessions attached now; one that never set a level gets info and above", async () => {
    const { core, child, sessions } = await withSessions(2);
    const [a, b] = sessions as [RecordingSession, RecordingSession];
    child().emit(notification("notifications/message", { level: "debug", data: "before anyone set a level" }));
    assert.equal(b.withMethod("notifications/message").length, 1, "until a level is set, everyone gets what the server sends");
    core.handle(a, request(1, "logging/setLevel", { level: "debug" }));
    await settle();
    assert.equal(child().last("logging/setLevel").params?.level, "debug");
    child().emit({ jsonrpc: "2.0", id: child().last("logging/setLevel").id, result: {} });
    await settle();
    child().emit(notification("notifications/message", { level: "debug", data: "for A" }));
    child().emit(notification("notifications/message", { level: "info", data: "for both" }));
    assert.equal(a.withMethod("notifications/message").length, 3);
    assert.equal(b.withMethod("notifications/message").length, 2, "B never set a level: info, not A's debug");
    core.detach(a);
    await settle();
    assert.equal(child().last("logging/setLevel").params?.level, "info", "lowered when the verbose session left");
    assert.equal(child().requests("logging/setLevel").length, 2);
  });

  test("a client is never sent a request needing a capability it did not declare: the server gets -32601", async () => {
    const { core, child } = router();
    const a = new RecordingSession();
    core.attach(a);
    core.handle(a, initialize(0, "2025-06-18", { roots: {} }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: child().last("initialize").id, result: INITIALIZE_RESULT });
    await settle();
    core.handle(a, request(1, "tools/call", { name: "x" }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: 77, method: "sampling/createMessage", params: { messages: [], maxTokens: 1 } });
    assert.equal(a.withMethod("sampling/createMessage").length, 0, "not sent to the client");
    const refusal = child().received.find((m) => !("method" in m) && "id" in m && m.id === 77) as {
      error?: { code: number; message: string };
    };
    assert.equal(refusal.error?.code, -32601);
    assert.match(refusal.error?.message ?? "", /did not declare the sampling capability/);
    child().emit({ jsonrpc: "2.0", id: 78, method: "roots/list", params: {} });
    assert.equal(a.withMethod("roots/list").length, 1, "roots, which it declared, are asked");
  });

  test("tasks: a session lists, gets, cancels and hears about its own tasks only; another's task id is unknown to it", async () => {
    const { core, child, sessions } = await withSessions(2);
    const [a, b] = sessions as [RecordingSession, RecordingSession];
    core.handle(a, request(1, "tools/call", { name: "slow", arguments: {}, task: { ttl: 60_000 } }));
    await settle();
    const task = {
      taskId: "task-1",
      status: "working",
      createdAt: "2026-12-01T00:00:00Z",
      lastUpdatedAt: "2026-12-01T00:00:00Z",
      ttl: 60_000,
    };
    child().emit({ jsonrpc: "2.0", id: child().last("tools/call").id, result: { task } });
    assert.equal((a.answer(1).result as { task: { taskId: string } }).task.taskId, "task-1");

    for (const session of [a, b]) {
      core.handle(session, request(2, "tasks/list"));
      await settle();
      child().emit({ jsonrpc: "2.0", id: child().last("tasks/list").id, result: { tasks: [task] } });
    }
    assert.deepEqual((a.answer(2).result as { tasks: unknown[] }).tasks, [task]);
    assert.deepEqual((b.answer(2).result as { tasks: unknown[] }).tasks, [], "B does not see A's task");

    for (const method of ["tasks/get", "tasks/result", "tasks/cancel"]) {
      core.handle(b, request(method, method, { taskId: "task-1" }));
      assert.equal(b.answer(method).error?.code, -32602, `${method} of another's task`);
      assert.equal(child().requests(method).length, 0, `${method} never reaches the child`);
    }
    core.handle(a, request(3, "tasks/cancel", { taskId: "task-1" }));
    await settle();
    assert.equal(child().requests("tasks/cancel").length, 1, "the owner's cancel reaches the child");

    child().emit(notification("notifications/tasks/status", { ...task, status: "cancelled" }));
    assert.equal(a.withMethod("notifications/tasks/status").length, 1);
    assert.equal(b.withMethod("notifications/tasks/status").length, 0, "B hears nothing of A's task");
  });

  test("log levels: the child logs at the most verbose level asked; each session gets what its level admits", async () => {
    const { core, child, sessions } = await withSessions(3);
    const [a, b, c] = sessions as [RecordingSession, RecordingSession, RecordingSession];
    core.handle(a, request(1, "logging/setLevel", { level: "error" }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: child().last("logging/setLevel").id, result: {} });
    await settle();
    core.handle(b, request(1, "logging/setLevel", { level: "debug" }));
    await settle();
    assert.equal(child().last("logging/setLevel").params?.level, "debug");
    child().emit({ jsonrpc: "2.0", id: child().last("logging/setLevel").id, result: {} });
    await settle();
    assert.deepEqual(a.answer(1).result, {});
    assert.deepEqual(b.answer(1).result, {});
    child().emit(notification("notifications/message", { level: "info", data: "x" }));
    assert.equal(a.withMethod("notifications/message").length, 0);
    assert.equal(b.withMethod("notifications/message").length, 1);
    assert.equal(c.withMethod("notifications/message").length, 1, "a session that never set a level gets what the server sends");
  });

  test("a logging/setLevel whose child dies before answering is answered with an error", async () => {
    const { core, child, sessions } = await withSessions(1);
    const a = sessions[0]!;
    core.handle(a, request(1, "logging/setLevel", { level: "debug" }));
    await settle();
    child().die("killed by SIGKILL");
    await settle();
    assert.match(a.answer(1).error?.message ?? "", /the server exited$/);
  });

  test("a child that dies fails what it was given; requests waiting for the restart are sent to the new child", async () => {
    const { core, clock, spawner, child, sessions } = await withSessions(1, { backoffMs: 1000 });
    const a = sessions[0]!;
    core.handle(a, request(1, "tools/call"));
    child().die();
    assert.match(a.answer(1).error?.message ?? "", /while handling this request/);
    clock.advance(0);
    assert.equal(spawner.children.length, 2, "the first crash is restarted at once");
    await settle();
    child().die();
    core.handle(a, request(2, "tools/call"));
    await settle();
    assert.equal(spawner.children.length, 2, "a second crash within a minute waits restartBackoffMs");
    clock.advance(1000);
    await settle();
    assert.equal(spawner.children.length, 3);
    assert.equal(child().requests("tools/call").length, 1, "the waiting request went to the new child");
    assert.equal(a.hasAnswer(2), false);
  });

  test("a restarted child gets the subscriptions and log level back, and sessions are told to refresh their lists", async () => {
    const { core, clock, child, sessions } = await withSessions(1);
    const a = sessions[0]!;
    core.handle(a, request(1, "resources/subscribe", { uri: "res://x" }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: child().last("resources/subscribe").id, result: {} });
    await settle();
    core.handle(a, request(2, "logging/setLevel", { level: "warning" }));
    await settle();
    child().emit({ jsonrpc: "2.0", id: child().last("logging/setLevel").id, result: {} });
    await settle();
    child().die();
    clock.advance(0);
    await settle();
    assert.equal(child().last("resources/subscribe").params?.uri, "res://x");
    assert.equal(child().last("logging/setLevel").params?.level, "warning");
    assert.equal(a.withMethod("notifications/tools/list_changed").length, 1);
  });

  test("crashing past the restart limit leaves the child failed, with an error naming the log; it is tried again a minute later", async () => {
    const { core, clock, spawner, child, sessions } = await withSessions(1, { limit: 1, backoffMs: 100 });
    const a = sessions[0]!;
    child().die();
    clock.advance(0);
    await settle();
    child().die();
    await settle();
    assert.equal(spawner.children.length, 2);
    core.handle(a, request(1, "tools/list"));
    await settle();
    assert.match(a.answer(1).error?.message ?? "", /^mcp-session-manager: the server failed 2 times in a row .*see \/tmp\/fake\.log/);
    clock.advance(RETRY_FAILED_AFTER_MS);
    core.handle(a, request(2, "tools/list"));
    await settle();
    assert.equal(spawner.children.length, 3, "a minute later a request tries again");
    assert.equal(child().requests("tools/list").length, 1);
  });

  test("an initialize never answered within the start timeout kills the child and counts as a failed start", async () => {
    const { core, clock, spawner, child } = router({ answersInitialize: false, limit: 0 });
    const a = new RecordingSession();
    core.attach(a);
    core.handle(a, initialize(1));
    await settle();
    const first = child();
    clock.advance(START_TIMEOUT_MS);
    await settle();
    assert.equal(first.alive, false, "the silent child was stopped");
    assert.equal(spawner.children.length, 1, "with no restarts allowed it is not started again");
    assert.match(a.answer(1).error?.message ?? "", /did not answer initialize within 5000 ms/);
    assert.equal(core.status().state, "failed");
  });

  test("a spawn that throws (out of file descriptors) is a failed start: retried by the policy, never stuck starting", async () => {
    const { core, clock, spawner } = router({ failSpawns: 2, backoffMs: 100 });
    const a = new RecordingSession();
    core.attach(a);
    core.handle(a, initialize(1));
    await settle();
    assert.equal(core.status().state, "backing-off");
    clock.advance(0);
    clock.advance(100);
    await settle();
    assert.equal(spawner.children.length, 1, "the third attempt spawned");
    assert.deepEqual(a.answer(1).result, INITIALIZE_RESULT);

    const failing = router({ failSpawns: 5, limit: 0 });
    const b = new RecordingSession();
    failing.core.attach(b);
    failing.core.handle(b, initialize(1));
    await settle();
    assert.match(b.answer(1).error?.message ?? "", /failed 1 times in a row \(last: the server could not be started: spawn EMFILE\)/);
  });

  test("a child that stops reading its input: the request is answered with an error instead of queueing without bound", async () => {
    const { core, child, sessions } = await withSessions(1);
    const a = sessions[0]!;
    child().reading = false;
    core.handle(a, request(1, "tools/call"));
    assert.match(a.answer(1).error?.message ?? "", /does not read its input/);
  });

  test("a session that ends: its requests are cancelled at the child and its server requests refused", async () => {
    const { core, child, sessions } = await withSessions(1);
    const a = sessions[0]!;
    core.handle(a, request(1, "tools/call"));
    child().emit(request(50, "sampling/createMessage", {}));
    const sent = child().last("tools/call");
    core.detach(a);
    assert.deepEqual(
      child().notifications("notifications/cancelled")[0],
      notification("notifications/cancelled", { requestId: sent.id, reason: "client session ended" }),
    );
    assert.equal((child().received.at(-1) as { id: number }).id, 50);
    child().emit({ jsonrpc: "2.0", id: sent.id, result: {} });
    assert.equal(a.hasAnswer(1), false);
  });

  test("ping from the server is answered by the daemon; list_changed goes to every session", async () => {
    const { child, sessions } = await withSessions(2);
    child().emit(request("p", "ping"));
    assert.deepEqual(child().received.at(-1), { jsonrpc: "2.0", id: "p", result: {} });
    child().emit(notification("notifications/tools/list_changed"));
    for (const session of sessions) assert.equal(session.withMethod("notifications/tools/list_changed").length, 1);
  });
});
