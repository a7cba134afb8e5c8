import { chromium, type Browser } from "playwright-core";
import { findCommand } from "../../src/process/find-command.js";
import { within } from "./bounded.js";
import { onCleanup, type CleanupScope } from "./cleanup.js";

/** The system's Chromium (Debian's `chromium`, which .ci/run installs), or the one CHROMIUM_PATH names. */
function chromiumPath(): string {
  const found =
    process.env.CHROMIUM_PATH ?? ["chromium", "chromium-browser", "google-chrome"].map((name) => findCommand(name)).find(Boolean);
  if (!found) throw new Error("no Chromium to drive: install Debian's chromium package (.ci/run does), or set CHROMIUM_PATH");
  return found;
}

/** A headless Chromium for this test, closed after it, pass or fail. */
export async function launchBrowser(t: CleanupScope): Promise<Browser> {
  const browser = await within(
    // As root (CI) Chromium refuses to start with its sandbox; the pages it loads here are our own.
    chromium.launch({ executablePath: chromiumPath(), args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] }),
    "Chromium to start",
  );
  onCleanup(t, () => browser.close());
  return browser;
}
