import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { onCleanup } from "./cleanup.js";

/** A fresh directory removed when the test ends, pass or fail. */
export function tempDir(t: TestContext, prefix = "msm-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(t, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
