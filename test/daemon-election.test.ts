import assert from "node:assert/strict";
import { onCleanup } from "./helpers/cleanup.js";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { until } from "./helpers/bounded.js";
import { configuredHome, probeServer, type DaemonHome } from "./helpers/daemon-home.js";
import { httpJson, startManager } from "./helpers/manager.js";
import { DAEMON, FIXTURES, PROXY } from "./helpers/paths.js";
import { exited, freePort, isAlive, killTree, processesMatching, spawnTracked, waitForOutput } from "./helpers/processes.js";
import { ProxyClient, textOf } from "./helpers/proxy-client.js";

/** Processes whose command line holds all of `parts` (the processes this test made). */
const processesWith = (...parts: string[]) => processesMatching((args) => parts.every((part) => args.includes(part)));

const configOf = (daemon: DaemonHome) => join(daemon.home, "config.json");
const proxyArgs = (daemon: DaemonHome, name = "probe") => ["--config", configOf(daemon), "--target", name];

/** More starters than cores, all finding no daemon and reaching for the lock at once. */
const STARTERS = 10;

async function manyAtOnce(t: TestContext, daemon: DaemonHome): Promise<void> {
  const clients = Array.from({ length: STARTERS }, () => new ProxyClient(t, proxyArgs(daemon), { env: daemon.env }));
  const answers = await Promise.all(
    clients.map(async (client, index) => {
      await client.initialize();
      return textOf(await client.callTool("echo", { message: `session ${index}` }));
    }),
  );
  assert.deepEqual(
    answers,
    clients.map((_, index) => `session ${index}`),
    "every proxy was served",
  );
  const daemons = processesWith(DAEMON, "probe", configOf(daemon));
  assert.equal(daemons.length, 1, `exactly one daemon process, found ${daemons.join(", ")}`);
  assert.equal(daemon.lockedPid("probe"), daemons[0]);
  // gc() to collect what calls left once they stop (runtime/entry-points.ts, daemon/idle-collection.ts).
  const nodeFlags = readFileSync(`/proc/${daemons[0]}/cmdline`, "utf8").split("\0");
  assert.ok(nodeFlags.includes("--expose-gc"), `the daemon's Node runs with --expose-gc: ${nodeFlags.join(" ")}`);
  const stats = await Promise.all(
    clients.slice(0, 3).map(async (client) => JSON.parse(textOf(await client.callTool("stats"))).pid as number),
  );
  stats.forEach((pid) => daemon.track(pid));
  assert.equal(new Set(stats).size, 1, "and one shared server child");
}

describe("exactly one daemon per server", () => {
  test("10 proxies started at once, no daemon and no manager: one daemon comes up and serves them all", async (t) => {
    await manyAtOnce(t, configuredHome(t, { probe: probeServer() }));
  });

  test("10 proxies started at once with a manager running: one daemon, started by the manager", async (t) => {
    const port = await freePort();
    const daemon = configuredHome(t, { probe: probeServer() }, { manager: { port } });
    const manager = await startManager(t, daemon, port);
    await manyAtOnce(t, daemon);
    const lock = JSON.parse(readFileSync(join(daemon.home, "probe.lock"), "utf8"));
    assert.equal(lock.startedBy, manager.child.pid, "the manager started it (the proxies asked /ensure)");
  });

  test("a stale lock naming a dead pid is replaced", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const gone = spawn(process.execPath, ["-e", ""]);
    const deadPid = gone.pid!;
    await exited(gone);
    writeFileSync(
      join(daemon.home, "probe.lock"),
      JSON.stringify({
        name: "probe",
        pid: deadPid,
        startedBy: deadPid,
        startedAt: "2026-01-01T00:00:00.000Z",
        url: "http://127.0.0.1:9/mcp",
      }),
    );
    const client = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "ok" })), "ok");
    assert.notEqual(daemon.lockedPid("probe"), deadPid);
    assert.match(client.stderr, new RegExp(`replacing stale lock .*probe\\.lock \\(pid ${deadPid} is not running\\)`));
  });

  test("a lock naming a live process that is not the daemon (a recycled pid, or one without a start time), or a torn lock, is replaced", async (t) => {
    const daemon = configuredHome(t, { recycled: probeServer(), timeless: probeServer(), torn: probeServer() });
    // This test's own pid is alive, but its start time is not the one recorded: the pid was reused.
    writeFileSync(
      join(daemon.home, "recycled.lock"),
      JSON.stringify({
        name: "recycled",
        pid: process.pid,
        pidStarted: "1",
        startedBy: process.pid,
        startedAt: "2026-01-01T00:00:00.000Z",
        url: "http://127.0.0.1:9/mcp",
      }),
    );
    // No start time recorded (an older lock, or a system without one): only the daemon's proof could vouch for it.
    writeFileSync(
      join(daemon.home, "timeless.lock"),
      JSON.stringify({
        name: "timeless",
        pid: process.pid,
        startedBy: process.pid,
        startedAt: new Date().toISOString(),
        url: "http://127.0.0.1:9/mcp",
      }),
    );
    writeFileSync(join(daemon.home, "torn.lock"), '{"name":"torn","pid":');
    for (const name of ["recycled", "timeless", "torn"]) {
      const client = new ProxyClient(t, proxyArgs(daemon, name), { env: daemon.env });
      await client.initialize();
      assert.equal(textOf(await client.callTool("echo", { message: name })), name);
      const pid = daemon.lockedPid(name)!;
      assert.ok(pid !== process.pid && isAlive(pid), `${name}: the lock now names the live daemon`);
    }
  });

  test("a daemon whose lock file was deleted by hand is still found on its port, not started twice", async (t) => {
    const port = await freePort();
    const daemon = configuredHome(t, { probe: probeServer({ port }) });
    const a = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await a.initialize();
    const first = daemon.lockedPid("probe")!;
    rmSync(join(daemon.home, "probe.lock"));
    const b = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await b.initialize();
    assert.equal(textOf(await b.callTool("echo", { message: "found" })), "found");
    assert.deepEqual(processesWith(DAEMON, "probe", configOf(daemon)), [first], "the same single daemon");
    const health = await httpJson(port, "GET", "/health", { headers: { authorization: `Bearer ${daemon.token()}` } });
    assert.equal(health.body.sessions, 2);
  });

  test("a daemon whose lock file was deleted by hand puts it back at once: a proxy started then joins it", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const a = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await a.initialize();
    const first = daemon.lockedPid("probe")!;
    rmSync(join(daemon.home, "probe.lock"));
    // Well within the periodic housekeeping (10 s): the daemon watches its home for it.
    await until(() => daemon.lockedPid("probe") === first, "the daemon to put its lock back", 3000);
    const b = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await b.initialize();
    assert.deepEqual(processesWith(DAEMON, "probe", configOf(daemon)), [first], "the same single daemon");
    assert.match(readFileSync(join(daemon.home, "probe.log"), "utf8"), /probe\.lock was removed; recreated it/);
  });

  test("a daemon whose lock another daemon took while it was missing gives way: its sessions move to the new one", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const a = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await a.initialize();
    const old = daemon.lockedPid("probe")!;
    const oldChild = JSON.parse(textOf(await a.callTool("stats"))).pid as number;
    daemon.track(oldChild);
    // Frozen, it cannot put its lock back before a starter finds none and starts a second daemon.
    process.kill(old, "SIGSTOP");
    onCleanup(t, () => isAlive(old) && process.kill(old, "SIGCONT"));
    rmSync(join(daemon.home, "probe.lock"));
    const b = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await b.initialize();
    const replacement = daemon.lockedPid("probe")!;
    assert.notEqual(replacement, old);
    const child = JSON.parse(textOf(await b.callTool("stats"))).pid as number;
    daemon.track(child);

    process.kill(old, "SIGCONT");
    await until(() => !isAlive(old), "the old daemon to give way and exit");
    await until(() => !isAlive(oldChild), "the old daemon's server to be stopped with it");
    assert.match(
      readFileSync(join(daemon.home, "probe.log"), "utf8"),
      new RegExp(
        `\\[daemon ${old} probe\\] draining \\((daemon pid ${replacement} took the lock|another daemon listens on this one's socket paths)`,
      ),
    );
    assert.equal(JSON.parse(textOf(await a.callTool("stats"))).pid, child, "the old daemon's session moved to the new one's child");
    assert.deepEqual(processesWith(DAEMON, "probe", configOf(daemon)), [replacement], "one daemon left");
    // Its socket files were the new daemon's by then: left in place, a new session still reaches it on them.
    const c = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await c.initialize();
    assert.equal(JSON.parse(textOf(await c.callTool("stats"))).pid, child);
    const session = readFileSync(join(daemon.home, "probe.log"), "utf8")
      .split("\n")
      .filter((line) => line.includes(`[daemon ${replacement} `) && line.includes("session socket"));
    assert.equal(session.length, 3, `each of the three sessions on the new daemon's session socket:\n${session.join("\n")}`);
    // The old daemon's server was its own to stop, not the new one's leftover; the new one's list is its own.
    const log = readFileSync(join(daemon.home, "probe.log"), "utf8");
    assert.doesNotMatch(log, new RegExp(`\\[daemon ${replacement} probe\\] stopping child ${oldChild} `));
    const lists = readdirSync(daemon.home).filter((name) => name.startsWith(`probe.children.${replacement}-`));
    assert.equal(lists.length, 1, `the new daemon's own list of children: ${readdirSync(daemon.home).join(", ")}`);
    const listed = (JSON.parse(readFileSync(join(daemon.home, lists[0]!), "utf8")) as Array<{ pid: number }>).map((entry) => entry.pid);
    assert.ok(listed.includes(child), `it names the new daemon's child ${child}: ${JSON.stringify(listed)}`);
  });

  test("a process that is not our daemon on the port is reported clearly, never used", async (t) => {
    const port = await freePort();
    const daemon = configuredHome(t, { probe: probeServer({ port }) });
    const { createServer } = await import("node:http");
    // It answers like our daemon would, except for the proof it cannot make; it records what it is sent.
    const received: Array<{ method?: string; url?: string; authorization?: string; body: string }> = [];
    const stranger = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        received.push({ method: request.method, url: request.url, authorization: request.headers.authorization, body });
        response.setHeader("content-type", "application/json");
        const forged = { service: "mcp-session-manager", role: "daemon", name: "probe", version: "2", instance: "i", proof: "forged" };
        response.end(JSON.stringify({ ...forged, pid: process.pid, sessions: 0, children: [] }));
      });
    });
    stranger.listen(port, "127.0.0.1");
    await once(stranger, "listening");
    onCleanup(t, () => stranger.close());
    const client = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    const answer = await client.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.match(
      answer.error?.message ?? "",
      new RegExp(`port ${port} is in use by pid ${process.pid} \\(.*\\) of user \\S+, which is not this home's "probe" daemon`),
    );
    assert.ok(received.length > 0, "it was challenged");
    for (const request of received) {
      assert.equal(request.method, "GET");
      assert.equal(request.url, "/ping", "nothing but the challenge reached it");
      assert.equal(request.authorization, undefined);
      assert.equal(request.body, "");
    }
  });
});

describe("signals meant for the client never reach the daemon", () => {
  test("SIGINT to the process group of the proxies' parent leaves the daemon running", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const parent = spawnTracked(t, process.execPath, [`${FIXTURES}proxy-parent.js`, "3", PROXY, ...proxyArgs(daemon)], {
      env: daemon.env,
      detached: true, // its own process group, like a terminal's foreground job
    });
    const ready = await waitForOutput(parent.stdout!, (text) => text.includes("ready"), "the parent's proxies");
    const proxies = ready.trim().split(" ").slice(1).map(Number);
    onCleanup(t, () => proxies.forEach((pid) => killTree(pid)));
    const daemonPid = daemon.lockedPid("probe")!;
    assert.ok(isAlive(daemonPid));

    process.kill(-parent.pid!, "SIGINT"); // Ctrl-C in the client's terminal
    const { signal } = await exited(parent);
    assert.equal(signal, "SIGINT", "the client itself died of it");
    assert.ok(isAlive(daemonPid), "the daemon did not");
    const client = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "alive" })), "alive");
    assert.equal(daemon.lockedPid("probe"), daemonPid, "served by the same daemon");
  });
});
