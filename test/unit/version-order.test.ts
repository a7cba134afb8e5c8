import assert from "node:assert/strict";
import { test } from "node:test";
import { isOlderThanThis } from "../../src/runtime/version-order.js";
import { VERSION } from "../../src/version.js";

test("version order: only an earlier version is outdated; a newer one is never downgraded", () => {
  assert.equal(isOlderThanThis(VERSION), false);
  assert.equal(isOlderThanThis("0.0.0-0"), true, "the earliest there is");
  assert.equal(isOlderThanThis("999.0.0"), false, "a newer daemon stays as it is");
  assert.equal(isOlderThanThis("not a version"), true, "unreadable and different: replaced");
});
