import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeForLog } from "../../src/logging/log.js";

const ENTRY = /^\d{4}-\d\d-\d\dT/;

test("text a client chooses cannot forge a log entry: newlines continue indented, control characters are escaped", () => {
  const forged = "/tmp/p\n2026-12-01T00:00:00.000Z [daemon 1 memory] session x uses /etc/passwd";
  const lines = escapeForLog(forged).split("\n");
  assert.equal(lines.length, 2);
  assert.doesNotMatch(lines[1]!, ENTRY, "the second line is a continuation, not an entry");
  assert.ok(lines[1]!.startsWith("    "));
  assert.equal(escapeForLog("a\r\nb"), "a\n    b");
  assert.equal(escapeForLog("over\rwrite"), "over\\x0dwrite");
  assert.equal(escapeForLog("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  assert.equal(escapeForLog("c1 \u009b31m and \u0085"), "c1 \\x9b31m and \\x85", "C1 controls too (CSI, NEL)");
  assert.equal(escapeForLog("tab\tand ünïcode"), "tab\tand ünïcode", "tabs and printable text are kept");
});
