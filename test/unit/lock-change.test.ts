import assert from "node:assert/strict";
import { watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { replaceFile } from "../../src/files/replace-file.js";
import { lockChange } from "../../src/runtime/lock-file.js";
import { within } from "../helpers/bounded.js";
import { tempDir } from "../helpers/temp-dir.js";

/** How long lockChange is given in these tests: far more than a change takes to be seen, so a wait that ends early was woken. */
const LONG_MS = 20_000;

describe("waiting for a lock file to change", () => {
  test("a daemon replacing its lock wakes the wait at once; other files in the home do not", async (t) => {
    const dir = tempDir(t);
    const lock = join(dir, "probe.lock");
    writeFileSync(lock, "{}");
    let woken = false;
    const waiting = lockChange(lock, LONG_MS).then(() => (woken = true));
    // A watch of our own sees the other files' events: by then lockChange has been told of them too.
    const seen = new Promise<void>((resolve) => {
      const watcher = watch(dir, (_event, file) => {
        if (file !== "probe.log") return;
        watcher.close();
        resolve();
      });
    });
    writeFileSync(join(dir, "other.lock"), "{}");
    writeFileSync(join(dir, "probe.log"), "a line\n");
    await within(seen, "the other files' events");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(woken, false, "other files changed");
    const began = Date.now();
    replaceFile(lock, JSON.stringify({ url: "http://127.0.0.1:1/mcp" }));
    await waiting;
    assert.ok(Date.now() - began < LONG_MS / 2, "woken by the change, not by the time limit");
  });

  test("without a change it ends at its time limit, also where nothing can be watched", async (t) => {
    const dir = tempDir(t);
    await lockChange(join(dir, "probe.lock"), 10);
    await lockChange(join(dir, "missing-dir", "probe.lock"), 10);
  });
});
