import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_BACKOFF_MS, RestartPolicy, STABLE_AFTER_MS } from "../../src/runtime/restart-policy.js";

test("restart policy: at once, then restartBackoffMs doubling up to 30 s, then give up; a long run starts a fresh count", () => {
  const policy = new RestartPolicy({ limit: 4, backoffMs: 1000 });
  assert.deepEqual(policy.crashed(10), { restart: true, delayMs: 0 });
  assert.deepEqual(policy.crashed(10), { restart: true, delayMs: 1000 });
  assert.deepEqual(policy.crashed(10), { restart: true, delayMs: 2000 });
  assert.deepEqual(policy.crashed(10), { restart: true, delayMs: 4000 });
  assert.deepEqual(policy.crashed(10), { restart: false });
  assert.equal(policy.failuresInARow, 5);
  assert.deepEqual(policy.crashed(STABLE_AFTER_MS), { restart: true, delayMs: 0 }, "it ran a minute: not a crash loop");
  policy.reset();
  assert.equal(policy.failuresInARow, 0);

  const capped = new RestartPolicy({ limit: 100, backoffMs: 20_000 });
  capped.crashed(0);
  capped.crashed(0);
  assert.deepEqual(capped.crashed(0), { restart: true, delayMs: MAX_BACKOFF_MS });
  assert.deepEqual(new RestartPolicy({ limit: 0, backoffMs: 1 }).crashed(0), { restart: false }, "a limit of 0 never restarts");
});
