import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WaitingMessages } from "../../src/relay/waiting-messages.js";

const MiB = 1024 * 1024;
const notice = (text: string) => ({ message: { jsonrpc: "2.0" as const, method: "notifications/message" }, text });

describe("waiting messages: what a client sends while its upstream session is set up", () => {
  test("bounded in size as well as in number; a message alone always fits; taking all empties it", () => {
    const queue = new WaitingMessages();
    assert.equal(queue.add(notice("x".repeat(70 * MiB))), undefined, "a message larger than the bound waits alone");
    assert.match(queue.add(notice("small")) ?? "", /more than 64 MiB of messages are waiting/);
    assert.equal(queue.takeAll().length, 1);

    assert.equal(queue.add(notice("x".repeat(40 * MiB))), undefined);
    assert.equal(queue.add({ ...notice(""), bytes: Buffer.alloc(20 * MiB) }), undefined, "bytes count as they arrived");
    assert.match(queue.add(notice("x".repeat(5 * MiB))) ?? "", /MiB of messages/);
    assert.equal(queue.add(notice("x".repeat(4 * MiB - 1))), undefined, "what still fits is taken");
    assert.deepEqual(
      queue.takeAll().map((item) => item.bytes?.length ?? item.text.length),
      [40 * MiB, 20 * MiB, 4 * MiB - 1],
      "in the order they came",
    );
    assert.deepEqual(queue.takeAll(), []);

    for (let i = 0; i < 10_000; i++) assert.equal(queue.add(notice("{}")), undefined);
    assert.match(queue.add(notice("{}")) ?? "", /more than 10000 messages are waiting/);
  });
});
