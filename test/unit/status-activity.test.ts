import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BUCKET_MS, CallStats } from "../../src/daemon/call-stats.js";
import { SessionActivity } from "../../src/daemon/session-activity.js";
import { LogFollower } from "../../src/logging/log-follower.js";
import { BrowserLogins, LINK_LIFETIME_MS } from "../../src/manager/status-page/browser-logins.js";
import { RestartHistory } from "../../src/runtime/restart-history.js";

/** A clock moved by hand. */
function handClock(start = 1_000_000 * BUCKET_MS) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test("call stats: five minutes of ten-second buckets with percentiles, empty ones included, and the last 20 errors", () => {
  const clock = handClock();
  const stats = new CallStats(clock.now);
  for (let ms = 1; ms <= 100; ms++) stats.record({ session: "s", method: "tools/call", tool: "echo", ms });
  clock.advance(BUCKET_MS);
  stats.record({ session: "s", method: "tools/call", tool: "boom", ms: 5, error: "it broke" });
  const report = stats.report();
  assert.equal(report.buckets.length, 30);
  assert.deepEqual(
    report.buckets.slice(-2).map(({ calls, errors, p50, p95, p99 }) => ({ calls, errors, p50, p95, p99 })),
    [
      { calls: 100, errors: 0, p50: 50, p95: 95, p99: 99 },
      { calls: 1, errors: 1, p50: 5, p95: 5, p99: 5 },
    ],
  );
  assert.deepEqual(report.buckets[0], { at: report.buckets[1]!.at - BUCKET_MS, calls: 0, errors: 0 });
  assert.deepEqual(
    { ...report.lastMinute, perSecond: Number(report.lastMinute.perSecond.toFixed(2)) },
    { at: report.buckets.at(-2)!.at, calls: 101, errors: 1, p50: 50, p95: 95, p99: 99, perSecond: 10.1 },
    "the last minute merges its buckets' samples; its rate is over the 10 s it spans",
  );
  assert.deepEqual(report.recentErrors, [{ at: clock.now(), session: "s", method: "tools/call", tool: "boom", error: "it broke" }]);

  for (let i = 0; i < 25; i++) stats.record({ session: "s", method: "ping", ms: 1, error: `e${i}` });
  assert.deepEqual(
    stats.report().recentErrors.map((error) => error.error),
    Array.from({ length: 20 }, (_, i) => `e${i + 5}`),
  );
  clock.advance(30 * BUCKET_MS);
  assert.ok(
    stats.report().buckets.every((bucket) => bucket.calls === 0),
    "after five quiet minutes the window is empty",
  );
});

test("call stats: a burst keeps a bounded sample per bucket whose percentiles still describe it", () => {
  const stats = new CallStats(handClock().now);
  for (let i = 0; i < 100_000; i++) stats.record({ session: "s", method: "ping", ms: i % 1000 });
  const bucket = stats.report().buckets.at(-1)!;
  assert.equal(bucket.calls, 100_000);
  assert.ok(Math.abs(bucket.p50! - 500) < 120, `median near 500 (${bucket.p50})`);
  assert.ok(bucket.p99! > 900, `p99 near the top (${bucket.p99})`);
});

test("session activity: a result of any shape is counted without throwing", () => {
  const finished: Array<{ error?: string }> = [];
  const activity = new SessionActivity("s", (call) => finished.push(call));
  const shapes = [null, { isError: true, content: [null, 7, { type: "text", text: "bad" }] }, { isError: true }, "text"];
  shapes.forEach((result, id) => {
    activity.asked({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "x" } });
    activity.answered({ jsonrpc: "2.0", id, result } as never);
  });
  activity.asked({ jsonrpc: "2.0", id: 9, method: "ping" });
  activity.answered({ jsonrpc: "2.0", id: 9, error: null } as never);
  assert.deepEqual(
    finished.map((call) => call.error),
    [undefined, "bad", "the tool reported an error", undefined, "an error without a message"],
  );
});

test("session activity: client, calls, errors and in-flight requests; cancels and unrelated answers count nothing", () => {
  const clock = handClock();
  const finished: unknown[] = [];
  const activity = new SessionActivity("s1", (call) => finished.push(call), clock.now);
  activity.asked({ jsonrpc: "2.0", id: 1, method: "initialize", params: { clientInfo: { name: "claude-code", version: "2.1.0" } } });
  clock.advance(30);
  activity.answered({ jsonrpc: "2.0", id: 1, result: {} });
  activity.asked({ jsonrpc: "2.0", id: "a", method: "tools/call", params: { name: "slow" } });
  activity.asked({ jsonrpc: "2.0", id: "b", method: "tools/call", params: { name: "fails" } });
  activity.asked({ jsonrpc: "2.0", id: "c", method: "tools/call", params: { name: "x".repeat(500) } });
  activity.asked({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "c" } });
  clock.advance(2000);
  activity.answered({ jsonrpc: "2.0", id: "b", result: { isError: true, content: [{ type: "text", text: "no such file" }] } });
  activity.answered({ jsonrpc: "2.0", id: "zzz", result: {} });
  activity.answered({ jsonrpc: "2.0", id: "c", result: {} });
  assert.deepEqual(activity.report({ project: "/p", child: "project:/p" }), {
    id: "s1",
    client: { name: "claude-code", version: "2.1.0" },
    project: "/p",
    child: "project:/p",
    connectedAt: clock.now() - 2030,
    calls: 1,
    errors: 1,
    waiting: 1,
    inFlight: [{ method: "tools/call", tool: "slow", forMs: 2000 }],
  });
  assert.deepEqual(
    finished,
    [{ session: "s1", method: "tools/call", tool: "fails", ms: 2000, error: "no such file" }],
    "the handshake is not a call",
  );
});

test("browser logins: a link works once, for a minute; the cookie is HttpOnly and SameSite=Strict; the page key must match", () => {
  const clock = handClock();
  const logins = new BrowserLogins("msm_3199", clock.now);
  const { secret } = logins.issueLink();
  const login = logins.redeem(secret);
  assert.ok(login);
  assert.equal(logins.redeem(secret), undefined, "used once");
  assert.match(logins.cookieFor(login), /^msm_3199=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
  const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  assert.equal(logins.loginOf(request({ cookie: `other=1; msm_3199=${login.id}` })), login);
  assert.equal(logins.loginOf(request({ cookie: `msm_3199=planted-by-another-port; msm_3199=${login.id}` })), login, "not shadowed");
  assert.equal(logins.loginOf(request({ cookie: `msm_3198=${login.id}` })), undefined);
  assert.equal(BrowserLogins.keyMatches(login.key, login), true);
  assert.equal(BrowserLogins.keyMatches(`${login.key}x`, login), false);
  assert.equal(BrowserLogins.keyMatches(login.id, login), false, "the cookie is not the key");
  assert.equal(BrowserLogins.keyMatches(undefined, login), false);

  const late = logins.issueLink();
  clock.advance(LINK_LIFETIME_MS);
  assert.equal(logins.redeem(late.secret), undefined, "a minute later the link is useless");
  assert.equal(logins.redeem("made-up"), undefined);
});

test("log follower: the last lines, then whole lines as they are appended, from the start again after a rotation", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "msm-log-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "x.log");
  writeFileSync(file, "one\ntwo\nthree\n");
  const follower = new LogFollower(file);
  assert.deepEqual(follower.last(2), ["two", "three"]);
  assert.deepEqual(follower.more(), []);
  appendFileSync(file, "four\nfi");
  assert.deepEqual(follower.more(), ["four"], "a line still being written waits");
  appendFileSync(file, "ve\n");
  assert.deepEqual(follower.more(), ["five"]);
  writeFileSync(file, "rotated\n");
  assert.deepEqual(follower.more(), ["rotated"]);
  assert.throws(() => new LogFollower(join(dir, "missing.log")).last(5));
});

test("restart history: newest last, at most 20", () => {
  const clock = handClock();
  const history = new RestartHistory(clock.now);
  for (let i = 0; i < 25; i++) history.record(`crash ${i}`);
  assert.equal(history.list().length, 20);
  assert.deepEqual(history.list().at(-1), { at: clock.now(), reason: "crash 24" });
});
