import assert from "node:assert/strict";
import { test } from "node:test";
import { HttpCancels } from "../../src/daemon/http-cancels.js";

test("HTTP cancels: early ones drop their request, late ones change nothing, a closed exchange gets no second answer", () => {
  let now = 0;
  const cancels = new HttpCancels(() => now);
  cancels.cancelled(1, false);
  assert.equal(cancels.arrived(1), false, "cancelled before it came: it must not run");
  assert.equal(cancels.arrived(1), true, "the id used again later runs");

  assert.equal(cancels.arrived(2), true);
  cancels.cancelled(2, false); // answered already
  assert.equal(cancels.arrived(2), true, "a late cancel does not touch a later request with the same id");

  cancels.cancelled(3, false);
  now += 10_000;
  assert.equal(cancels.arrived(3), true, "an early cancel waits for its request for a while only");

  assert.equal(cancels.arrived(4), true);
  cancels.cancelled(4, true);
  assert.equal(cancels.dropsAnswer(4), true, "the backend's answer after the exchange was closed is dropped");
  assert.equal(cancels.dropsAnswer(4), false, "once");
  cancels.cancelled(5, true);
  assert.equal(cancels.arrived(5), true);
  assert.equal(cancels.dropsAnswer(5), false, "a new request with that id gets its answer");
});
