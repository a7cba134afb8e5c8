import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CallStats } from "../../src/daemon/call-stats.js";
import { IdleCollection } from "../../src/daemon/idle-collection.js";

describe("idle collection: a daemon collects its garbage once, when calls stop", () => {
  test("not before any call, not while calls come, once after a quiet round, again after the next burst", () => {
    let finished = 0;
    let collections = 0;
    const idle = new IdleCollection(
      () => finished,
      () => (collections += 1),
    );
    idle.look();
    idle.look();
    assert.equal(collections, 0, "a daemon that has served nothing has nothing to collect");

    finished = 40;
    idle.look();
    finished = 90;
    idle.look();
    assert.equal(collections, 0, "calls came during each round");
    idle.look();
    assert.equal(collections, 1, "a round without calls after a burst");
    idle.look();
    idle.look();
    assert.equal(collections, 1, "once per burst");

    finished = 91;
    idle.look();
    assert.equal(collections, 1);
    idle.look();
    assert.equal(collections, 2, "the next burst is collected after it too");
  });

  test("a client's pings on a timer do not keep the daemon from looking idle", () => {
    const calls = new CallStats();
    let collections = 0;
    const idle = new IdleCollection(
      () => calls.finished,
      () => (collections += 1),
    );
    calls.record({ session: "s", method: "tools/call", tool: "read_graph", ms: 4 });
    idle.look();
    calls.record({ session: "s", method: "ping", ms: 1 });
    idle.look();
    assert.equal(collections, 1, "the round with only a ping counts as quiet");
    calls.record({ session: "s", method: "ping", ms: 1 });
    idle.look();
    assert.equal(collections, 1, "and pings alone are no new burst");
  });

  test("without gc (a daemon not started with --expose-gc) it does nothing", () => {
    let finished = 0;
    const idle = new IdleCollection(() => finished, undefined);
    finished = 5;
    assert.doesNotThrow(() => {
      idle.look();
      idle.look();
    });
  });
});
