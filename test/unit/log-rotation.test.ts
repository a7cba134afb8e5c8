import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { rotateLog } from "../../src/logging/rotate.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("log rotation", () => {
  test("a log over the limit is copied to .1 (older ones shift up, the oldest beyond the limit is dropped) and emptied in place", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "x.log");
    writeFileSync(`${file}.1`, "older\n");
    writeFileSync(`${file}.2`, "oldest\n");
    writeFileSync(file, "a".repeat(5000));
    assert.equal(rotateLog(file, { maxBytes: 4096, keep: 2 }), true);
    assert.equal(statSync(file).size, 0);
    assert.equal(readFileSync(`${file}.1`, "utf8"), "a".repeat(5000));
    assert.equal(readFileSync(`${file}.2`, "utf8"), "older\n");
    writeFileSync(file, "small");
    assert.equal(rotateLog(file, { maxBytes: 4096, keep: 2 }), false, "under the limit: left alone");
    assert.equal(rotateLog(join(dir, "absent.log"), { maxBytes: 1, keep: 2 }), false);
  });
});
