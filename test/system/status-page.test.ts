/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import type { Page } from "playwright-core";
import { until, within } from "../helpers/bounded.js";
import { launchBrowser } from "../helpers/browser.js";
import { onCleanup } from "../helpers/cleanup.js";
import { configuredHome, probeServer } from "../helpers/daemon-home.js";
import { httpJson, runManagerCli, stopManagerAfter } from "../helpers/manager.js";
import { ROOT } from "../helpers/paths.js";
import { freePort, isAlive } from "../helpers/processes.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";
import { tempDir } from "../helpers/temp-dir.js";

/** A manager running in the background over a home with a project-scoped probe server and the built-in memory. */
async function runningManager(t: TestContext) {
  const port = await freePort();
  const servers = { probe: probeServer({ scope: "project" }), memory: { builtin: "memory", port: await freePort() } };
  const daemon = configuredHome(t, servers, { manager: { port } });
  const config = join(daemon.home, "config.json");
  const cli = (...args: string[]) => runManagerCli(["--config", config, ...args], { env: daemon.env });
  stopManagerAfter(t, daemon);
  const started = await cli("start", "--detach", "--start-all");
  assert.equal(started.code, 0, started.stderr);
  const loginUrl = async () => {
    const opened = await cli("open", "--print");
    assert.equal(opened.code, 0, opened.stderr);
    const url = opened.stdout.trim();
    assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/login\\?once=[\\w-]{43}$`));
    return url;
  };
  return { port, daemon, config, cli, loginUrl };
}

/** Waits until the page's text contains `text` (the page updates itself; nothing reloads it). */
async function pageShows(page: Page, text: string | RegExp, what: string): Promise<void> {
  await within(
    page.waitForFunction(
      ([source, flags]) => new RegExp(source!, flags).test(document.body.innerText),
      text instanceof RegExp ? [text.source, text.flags] : [text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), ""],
      { timeout: 0, polling: 100 },
    ),
    what,
  );
}

/** The text of the sessions table row whose client is `client`. */
const sessionRow = (page: Page, client: string) =>
  page.evaluate((name) => [...document.querySelectorAll("tr")].find((row) => row.cells[0]?.textContent === name)?.innerText ?? "", client);

describe("the status page", () => {
  test("logged in with mcp-manager open --print, it follows sessions, calls and restarts live, and acts from the keyboard", async (t) => {
    const { config, daemon, port, loginUrl } = await runningManager(t);
    const browser = await launchBrowser(t);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(await loginUrl());
    await pageShows(page, /probe\s*running/, "the probe server's card");
    assert.equal(page.url(), `http://127.0.0.1:${port}/`, "the login link lands on the page, with no secret left in the address");

    // Two windows of two projects, as Claude Code starts them.
    const [projectA, projectB] = [tempDir(t, "msm-project-a-"), tempDir(t, "msm-project-b-")];
    const windows = [
      ["window-a", projectA],
      ["window-b", projectB],
    ].map(([name, project]) => {
      const client = new ProxyClient(t, ["--config", config, "--target", "probe"], { env: { ...daemon.env, CLAUDE_PROJECT_DIR: project } });
      return { name: name!, project: project!, client };
    });
    for (const { client, name } of windows) await client.initialize({}, "2025-06-18", name);
    await pageShows(page, "Sessions (2)", "both sessions to appear without a reload");
    for (const { name, project } of windows)
      assert.match(await sessionRow(page, `${name} 1.0.0`), new RegExp(project.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));

    // Calls move the counts; a waiting call shows as in flight; a failed one counts and is listed.
    const a = windows[0]!.client;
    for (let i = 0; i < 3; i++) assert.equal(textOf(await a.callTool("echo", { message: `hello ${i}` })), `hello ${i}`);
    await until(
      async () => /\t3\t0\t/.test(await sessionRow(page, "window-a 1.0.0")),
      "window-a's row to count its 3 calls (the handshake is not one)",
    );
    const waiting = a.start("tools/call", { name: "wait_for_cancel", arguments: {} });
    await pageShows(page, /tools\/call wait_for_cancel for \d+ s/, "the waiting call in flight");
    const childRow = await page.evaluate(
      (project) =>
        [...document.querySelectorAll("tr")].find((row) => row.cells[0]?.textContent?.startsWith(`project:${project} `))?.innerText,
      projectA,
    );
    assert.match(childRow ?? "", /\tready\t\d+\t[\d.]+ MiB\t1\t1\t0$/, "project A's child: 1 session, 1 call in flight, 0 restarts");
    a.notify("notifications/cancelled", { requestId: waiting, reason: "done waiting" });
    const failed = await a.request("tools/call", { name: "no_such_tool", arguments: {} });
    assert.ok(failed.error || failed.result?.isError, "the unknown tool fails");
    await until(async () => /\t4\t1\t–$/.test(await sessionRow(page, "window-a 1.0.0")), "window-a's row to count the failed call");
    await pageShows(page, "Recent errors (1)", "the failed call among recent errors");
    await pageShows(page, /calls\/s · 1 error in the last minute/, "the chart's caption counting the error");

    // Restart from the page, with the keyboard alone: Tab to the button, Enter.
    const before = daemon.lockedPid("probe");
    let focused = "";
    for (let presses = 0; presses < 40 && focused !== "Restart probe"; presses++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? "");
    }
    assert.equal(focused, "Restart probe", "the restart button is reached with Tab");
    await page.keyboard.press("Enter");
    await pageShows(page, "restart probe: done", "the restart's outcome");
    await until(() => Boolean(daemon.lockedPid("probe") && daemon.lockedPid("probe") !== before), "a new probe daemon");
    await page.click("text=Restart history (");
    await pageShows(page, /daemon: restarted by the status page/, "the restart and its reason in the history");
    // The sessions carry on: their proxies re-initialize with the new daemon at their next message.
    for (const { client } of windows) assert.equal(textOf(await client.callTool("echo", { message: "after" })), "after");
    await pageShows(page, "Sessions (2)", "both sessions back on the new daemon");

    // The log follows: a line the manager writes now shows up; a server's whole log opens from its card.
    await pageShows(page, /probe: running \(pid \d+/, "the manager's log line about the new daemon");
    await page.click('button[aria-label="Full log of probe"]');
    await within(
      page.waitForFunction(() =>
        /listening on http:\/\/127\.0\.0\.1:\d+\/mcp for /.test(document.querySelector("#full-log-text")?.textContent ?? ""),
      ),
      "the full log in its dialog",
    );
    await page.keyboard.press("Escape");
    assert.equal(await page.isVisible("#full-log"), false, "Escape closes it");

    // Memory databases: one line per project in use.
    const memory = new ProxyClient(t, ["--config", config, "--target", "memory"], { env: { ...daemon.env, CLAUDE_PROJECT_DIR: projectA } });
    await memory.initialize({}, "2025-06-18", "window-a");
    await memory.callTool("create_entities", {
      entities: [{ name: "status page", entityType: "feature", observations: ["shows databases"] }],
    });
    await pageShows(
      page,
      new RegExp(`${projectA.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/\\.claude/memory\\.db\\s+[\\d.]+ MiB\\s+1`),
      "the project's database",
    );

    if (process.env.UPDATE_SCREENSHOTS) await screenshots(page);

    // Light and dark, and a narrow window without sideways scrolling.
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    await page.emulateMedia({ colorScheme: "dark" });
    assert.notEqual(await background(), light, "dark mode has its own colours");
    await page.setViewportSize({ width: 360, height: 800 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "nothing wider than a narrow window");
    // A table scrolled sideways stays where it was across live updates (they refill it in place).
    const scrolled = await page.evaluate(() => {
      const wrapper = [...document.querySelectorAll<HTMLElement>(".scroll")].find((box) => box.scrollWidth > box.clientWidth)!;
      wrapper.scrollLeft = 40;
      return wrapper.scrollLeft;
    });
    assert.ok(scrolled > 0, "a session table is wider than a narrow window, and scrolls");
    const renders = await page.evaluate(() => performance.getEntriesByName("render").length);
    await within(
      page.waitForFunction((seen) => performance.getEntriesByName("render").length >= seen + 2, renders, { timeout: 0, polling: 100 }),
      "two live updates",
    );
    assert.equal(
      await page.evaluate(
        () => [...document.querySelectorAll<HTMLElement>(".scroll")].find((box) => box.scrollWidth > box.clientWidth)!.scrollLeft,
      ),
      scrolled,
    );
    assert.deepEqual(pageErrors, []);
  });

  test("a start from the page whose server does not come up says why, as mcp-manager start does", async (t) => {
    const port = await freePort();
    const dir = tempDir(t, "msm-flaky-");
    // An HTTP server whose script is missing: every start fails; the second restart waits a minute.
    const flaky = {
      command: process.execPath,
      args: [join(dir, "missing.js")],
      transport: "streamable-http",
      port: await freePort(),
      startTimeoutMs: 2000,
    };
    const daemon = configuredHome(t, { flaky }, { manager: { port, restartLimit: 3, restartBackoffMs: 60_000 } });
    const cli = (...args: string[]) => runManagerCli(["--config", join(daemon.home, "config.json"), ...args], { env: daemon.env });
    stopManagerAfter(t, daemon);
    const started = await cli("start", "--detach");
    assert.equal(started.code, 0, started.stderr);
    const opened = await cli("open", "--print");
    assert.equal(opened.code, 0, opened.stderr);
    const page = await (await (await launchBrowser(t)).newContext()).newPage();
    await page.goto(opened.stdout.trim());
    await pageShows(page, /flaky\s*stopped/, "the page, logged in");
    await page.click('button[aria-label="Start flaky"]');
    await pageShows(
      page,
      /start flaky failed: the daemon runs, but its server does not start \(restarted 1 time so far\): .*code 1/,
      "the start's outcome",
    );
  });

  test("nobody else sees or acts: no cookie, a used link, another origin's form and a forged action are refused", async (t) => {
    const { port, daemon, loginUrl } = await runningManager(t);
    const browser = await launchBrowser(t);
    const stranger = await browser.newPage();
    await stranger.goto(`http://127.0.0.1:${port}/`);
    assert.equal((await stranger.innerText("body")).trim(), "Run mcp-manager open to see this page.");
    for (const path of ["/events", "/logs/probe", "/logs/manager"])
      assert.equal(
        (await httpJson(port, "GET", path, { headers: { host: `127.0.0.1:${port}` } })).status,
        401,
        `${path} without the cookie`,
      );

    const url = await loginUrl();
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    await pageShows(page, /probe\s*running/, "the page, logged in");
    const reused = await (await browser.newContext()).newPage();
    const second = await reused.goto(url);
    assert.equal(second?.status(), 403, "a used link is refused");
    assert.match(await reused.innerText("body"), /used already or is over a minute old/);

    // A page of another origin on this machine posts a form at the logged-in browser's manager.
    const pid = daemon.lockedPid("probe");
    const evil = http.createServer((_request, response) =>
      response
        .writeHead(200, { "content-type": "text/html" })
        .end(
          `<form method="post" action="http://127.0.0.1:${port}/actions/stop" enctype="text/plain">` +
            `<input name='{"name":"probe","x":"' value='"}'></form><script>document.forms[0].submit()</script>`,
        ),
    );
    evil.listen(0, "127.0.0.1");
    await once(evil, "listening");
    onCleanup(t, () => new Promise((resolve) => evil.close(resolve)));
    const attacked = page.waitForResponse((response) => response.url().endsWith("/actions/stop"));
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    assert.equal((await within(attacked, "the form's post")).status(), 403, "a cross-origin form post is refused");

    // A program on another port that the browser sent the cookie to (cookies ignore ports) has the cookie but
    // not the page's key: it gets the empty shell, and nothing it asks for or does is allowed.
    const cookie = (await page.context().cookies()).map(({ name, value }) => `${name}=${value}`).join("; ");
    const headers = { host: `127.0.0.1:${port}`, cookie, origin: `http://127.0.0.1:${port}` };
    const shell = await httpJson(port, "GET", "/", { headers });
    assert.equal(shell.status, 200);
    assert.doesNotMatch(String(shell.body), /key|csrf/i, "the shell holds no secret");
    assert.equal((await httpJson(port, "GET", "/events", { headers })).status, 403);
    assert.equal((await httpJson(port, "GET", "/logs/probe", { headers })).status, 403);
    const stolen = await httpJson(port, "POST", "/actions/stop", {
      headers: { ...headers, "content-type": "application/json" },
      body: '{"name":"probe"}',
    });
    assert.equal(stolen.status, 403, "the cookie alone cannot act");
    // Another tab of the same browser: the cookie, but no key of its own: the one line.
    const otherTab = await page.context().newPage();
    await otherTab.goto(`http://127.0.0.1:${port}/`);
    await within(
      otherTab.waitForFunction(() => document.body.innerText.trim() === "Run mcp-manager open to see this page."),
      "the one line in a new tab",
    );

    // The page's own origin without its key (a script that got the cookie sent, say) is refused too.
    await page.goto(`http://127.0.0.1:${port}/`);
    const forged = await page.evaluate(async () => {
      const answer = await fetch("/actions/stop", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"name":"probe"}',
      });
      return answer.status;
    });
    assert.equal(forged, 403);
    assert.equal(daemon.lockedPid("probe"), pid, "the server still runs");
    assert.ok(pid !== undefined && isAlive(pid));

    // Without --print the browser opens a user-only file in the home that goes on to the link: the secret is
    // never on a command line, where other users could read it.
    const bin = tempDir(t, "msm-bin-");
    writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s' "$1" > "${bin}/opened"\n`, { mode: 0o755 });
    const opened = await runManagerCli(["--config", join(daemon.home, "config.json"), "open"], {
      env: { ...daemon.env, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(opened.code, 0, opened.stderr);
    const fileUrl = readFileSync(join(bin, "opened"), "utf8");
    assert.match(fileUrl, /^file:\/\/\/.+\/status-page\.html$/);
    assert.equal(statSync(fileURLToPath(fileUrl)).mode & 0o777, 0o600);
    const fromFile = await (await browser.newContext()).newPage();
    await fromFile.goto(fileUrl);
    await pageShows(fromFile, /probe\s*running/, "the page, logged in through the opened file");

    // Whatever it serves, the page is locked down: its own scripts and styles only, never framed.
    const answer = await httpJson(port, "GET", "/", { headers: { host: `127.0.0.1:${port}` } });
    assert.match(String(answer.headers["content-security-policy"]), /default-src 'none'; script-src 'self'/);
    assert.match(String(answer.headers["content-security-policy"]), /frame-ancestors 'none'/);
  });
});

/** The README's pictures of the main view, light and dark: `UPDATE_SCREENSHOTS=1 npm test` writes them. */
async function screenshots(page: Page): Promise<void> {
  mkdirSync(join(ROOT, "docs"), { recursive: true });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: join(ROOT, "docs", `status-page-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}
