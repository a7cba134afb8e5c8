/// <reference lib="dom" />
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { findCommand } from "../src/process/find-command.js";
import { StdioClient } from "./clients.js";
import { freePort, PROXY, ROOT } from "./everything-server.js";
import { cpuMs, median, ms } from "./stats.js";

const SERVERS = 20;
const SESSIONS = 50;
const LOADS = 10;
const WATCH_MS = 10_000;
const MANAGER = `${ROOT}dist/manager/index.js`;
const PROBE = `${ROOT}dist-test/test/fixtures/stdio-probe-server.cjs`;

function getStatus(port: number, token: string): Promise<{ ms: number; bytes: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/status", headers: { authorization: `Bearer ${token}` } }, (response) => {
        let bytes = 0;
        response.on("data", (chunk: Buffer) => (bytes += chunk.length));
        response.on("end", () => resolve({ ms: performance.now() - start, bytes }));
      })
      .on("error", reject);
  });
}

/**
 * Issue: the status page with 20 servers and 50 sessions. A warm manager's `/status` snapshot (what the page
 * gets once a second), the page's first paint and first data in a fresh tab, the time each live update takes
 * to draw, and what one watching page costs the manager in CPU.
 */
export async function statusPageBenchmark(): Promise<string> {
  const browserPath = process.env.CHROMIUM_PATH ?? findCommand("chromium") ?? findCommand("chromium-browser");
  if (!browserPath) return "## Status page\n\nskipped: no Chromium (install Debian's chromium, or set CHROMIUM_PATH)";
  const home = mkdtempSync(join(tmpdir(), "msm-bench-page-"));
  const port = await freePort();
  const servers = Object.fromEntries(
    Array.from({ length: SERVERS }, (_, i) => [`probe${i}`, { command: process.execPath, args: [PROBE] }]),
  );
  const config = join(home, "config.json");
  writeFileSync(config, JSON.stringify({ manager: { port }, servers }));
  const env = { ...process.env, MCP_SESSION_MANAGER_HOME: home };
  const cli = (...args: string[]) => execFileSync(process.execPath, [MANAGER, "--config", config, ...args], { env, encoding: "utf8" });
  const sessions: StdioClient[] = [];
  const browser = await chromium.launch({ executablePath: browserPath, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
  try {
    cli("start", "--detach", "--start-all");
    const managerPid = Number(JSON.parse(readFileSync(join(home, "manager.lock"), "utf8")).pid);
    for (let i = 0; i < SESSIONS; i++) {
      const session = new StdioClient(process.execPath, [PROXY, "--config", config, "--target", `probe${i % SERVERS}`], env);
      sessions.push(session);
    }
    await Promise.all(sessions.map((session) => session.initialize()));
    for (let round = 0; round < 5; round++)
      await Promise.all(sessions.map((session) => session.call("tools/call", { name: "echo", arguments: { message: "x" } })));

    const token = readFileSync(join(home, "manager.token"), "utf8").trim();
    const snapshots = [];
    for (let i = 0; i < 20; i++) snapshots.push(await getStatus(port, token));

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const login = await context.newPage();
    await login.goto(cli("open", "--print").trim());
    await login.waitForURL(`http://127.0.0.1:${port}/`);
    const key = await login.evaluate(() => sessionStorage.getItem("key"));
    await login.close();
    const paints: number[] = [];
    const firstData: number[] = [];
    // Each load a fresh tab of the logged-in browser, given the page's key as the link gives it.
    const warmPage = `http://127.0.0.1:${port}/#key=${key}`;
    for (let i = 0; i < LOADS; i++) {
      const page = await context.newPage();
      await page.goto(warmPage);
      await page.waitForFunction((count) => document.querySelectorAll("article.server").length === count, SERVERS, { polling: 20 });
      const [paint, data] = await page.evaluate(() => [
        performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
        performance.getEntriesByName("render")[0]?.startTime ?? NaN,
      ]);
      paints.push(paint);
      firstData.push(data);
      await page.close();
    }

    // What Chromium itself takes to paint a page of one line, no script and no style: the locked page.
    const stranger = await browser.newContext();
    const baseline: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const blank = await stranger.newPage();
      await blank.goto(`http://127.0.0.1:${port}/`);
      await blank.waitForFunction(() => performance.getEntriesByName("first-contentful-paint").length > 0, undefined, { polling: 20 });
      baseline.push(await blank.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]!.startTime));
      await blank.close();
    }

    const page = await context.newPage();
    await page.goto(warmPage);
    await page.waitForFunction((count) => document.querySelectorAll("article.server").length === count, SERVERS, { polling: 20 });
    const cpuBefore = cpuMs(managerPid);
    const calling = (async () => {
      const until = Date.now() + WATCH_MS;
      while (Date.now() < until)
        await Promise.all(sessions.map((session) => session.call("tools/call", { name: "echo", arguments: { message: "x" } })));
    })();
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    await calling;
    const cpuWatched = cpuMs(managerPid) - cpuBefore;
    const renders = await page.evaluate(() => performance.getEntriesByName("render").map((entry) => entry.duration));
    const shown = await page.evaluate(() =>
      document.body.innerText.match(/Sessions \((\d+)\)/g)?.reduce((sum, text) => sum + Number(/\d+/.exec(text)![0]), 0),
    );
    await page.close();
    const cpuIdleStart = cpuMs(managerPid);
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    const cpuUnwatched = cpuMs(managerPid) - cpuIdleStart;

    const rows = [
      ["`/status` snapshot (token), median of 20", ms(median(snapshots.map((s) => s.ms)), 1)],
      ["snapshot size", `${(snapshots[0]!.bytes / 1024).toFixed(0)} KiB`],
      [`first contentful paint, fresh tab, median of ${LOADS}`, ms(median(paints), 0)],
      [`first contentful paint of a one-line page (Chromium's own cost), median of ${LOADS}`, ms(median(baseline), 0)],
      [`first data drawn (${SERVERS} server cards), median of ${LOADS}`, ms(median(firstData), 0)],
      [`one live update drawn, median / max of ${renders.length}`, `${ms(median(renders), 1)} / ${ms(Math.max(...renders), 1)}`],
      [`sessions shown`, `${shown} of ${SESSIONS}`],
      [`manager CPU, one page watching, sessions calling (${WATCH_MS / 1000} s)`, `${((cpuWatched / WATCH_MS) * 100).toFixed(1)} %`],
      [`manager CPU, no page (${WATCH_MS / 1000} s)`, `${((cpuUnwatched / WATCH_MS) * 100).toFixed(1)} %`],
    ];
    return [
      `## Status page: ${SERVERS} servers, ${SESSIONS} sessions`,
      "",
      "| measure | value |",
      "|---|---|",
      ...rows.map(([name, value]) => `| ${name} | ${value} |`),
    ].join("\n");
  } finally {
    await browser.close();
    await Promise.all(sessions.map((session) => session.close()));
    try {
      cli("stop", "--manager");
    } catch {
      // already gone
    }
    rmSync(home, { recursive: true, force: true });
  }
}
