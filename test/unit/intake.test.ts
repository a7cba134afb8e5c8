import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HandshakeGate } from "../../src/daemon/handshake-gate.js";
import { intake, type Incoming } from "../../src/protocol/intake.js";

describe("intake: the same parse, invalid-input and batch rules wherever text arrives", () => {
  test("not JSON: -32700 with id null, the only answer that may carry it", () => {
    const parsed = intake("{nope");
    assert.equal(parsed.kind, "parse-error");
    assert.equal(parsed.kind === "parse-error" && parsed.reply.error.code, -32700);
    assert.equal(parsed.kind === "parse-error" && parsed.reply.id, null);
  });

  test("one message keeps its own text; invalid ones get -32600 only when they carry a usable id", () => {
    const text = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    assert.deepEqual(intake(text), { kind: "messages", batch: false, items: [{ kind: "request", message: JSON.parse(text), text }] });
    const withId = intake('{"jsonrpc":"1.0","id":"x","method":"ping"}');
    assert.equal(withId.kind === "messages" && withId.items[0]!.kind === "invalid" && withId.items[0]!.reply?.id, "x");
    const withoutId = intake('{"jsonrpc":"2.0","id":{},"method":"ping"}');
    assert.equal(withoutId.kind === "messages" && withoutId.items[0]!.kind === "invalid" && withoutId.items[0]!.reply, undefined);
  });

  test("a batch: each item judged on its own, texts re-serialised on one line; a body with a line break (LF or CR) too", () => {
    const parsed = intake('[{"jsonrpc":"2.0","method":"a"},\n 42, {"jsonrpc":"2.0","id":2,"result":{}}]');
    assert.equal(parsed.kind, "messages");
    if (parsed.kind !== "messages") return;
    assert.equal(parsed.batch, true);
    assert.deepEqual(
      parsed.items.map((item) => item.kind),
      ["notification", "invalid", "response"],
    );
    assert.equal((parsed.items[0] as Incoming).text, '{"jsonrpc":"2.0","method":"a"}');
    const multiLine = intake('{"jsonrpc":"2.0",\n"method":"b"}');
    assert.equal(multiLine.kind === "messages" && (multiLine.items[0] as Incoming).text, '{"jsonrpc":"2.0","method":"b"}');
    const withCr = intake('{"jsonrpc":"2.0",\r"method":"c"}');
    assert.equal(withCr.kind === "messages" && (withCr.items[0] as Incoming).text, '{"jsonrpc":"2.0","method":"c"}');
  });
});

describe("handshake gate: initialize first, and only once, on every front", () => {
  const item = (text: string) => {
    const parsed = intake(text);
    if (parsed.kind !== "messages" || parsed.items[0]!.kind === "invalid") throw new Error("not a message");
    return parsed.items[0] as Incoming;
  };
  test("requests before initialize are refused with their id; notifications are dropped; a second initialize is refused", () => {
    const gate = new HandshakeGate();
    const early = gate.admit(item('{"jsonrpc":"2.0","id":"e","method":"tools/list"}'));
    assert.ok(!early.pass && "reply" in early && early.reply.id === "e" && /not initialized/.test(early.reply.error.message));
    const note = gate.admit(item('{"jsonrpc":"2.0","method":"notifications/initialized"}'));
    assert.ok(!note.pass && "drop" in note);
    const init = item('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}');
    assert.deepEqual(gate.judge(init), { pass: true });
    assert.deepEqual(gate.admit(init), { pass: true });
    const again = gate.admit(init);
    assert.ok(!again.pass && "reply" in again && /already initialized/.test(again.reply.error.message));
    assert.deepEqual(gate.admit(item('{"jsonrpc":"2.0","id":2,"method":"tools/list"}')), { pass: true });
  });
});
