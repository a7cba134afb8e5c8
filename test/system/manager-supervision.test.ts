import assert from "node:assert/strict";
import { until as polled, within } from "../helpers/bounded.js";
import { onCleanup } from "../helpers/cleanup.js";
import { once } from "node:events";
import http from "node:http";
import { readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { configuredHome, probeServer, spareStarted, type DaemonHome } from "../helpers/daemon-home.js";
import { httpJson, startManager } from "../helpers/manager.js";
import { exited, freePort, isAlive, spawnTracked, waitForOutput } from "../helpers/processes.js";
import { MANAGER } from "../helpers/paths.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";
import { tempDir } from "../helpers/temp-dir.js";

interface Stats {
  pid: number;
}

async function homeWithManager(t: TestContext, servers: Record<string, unknown>, manager: Record<string, unknown> = {}) {
  const port = await freePort();
  const daemon = configuredHome(t, servers, { manager: { port, ...manager } });
  return { daemon, port };
}

async function session(t: TestContext, daemon: DaemonHome, name = "probe"): Promise<ProxyClient> {
  const client = new ProxyClient(t, ["--config", join(daemon.home, "config.json"), "--target", name], { env: daemon.env });
  await client.initialize();
  return client;
}

async function childPid(client: ProxyClient, daemon: DaemonHome): Promise<number> {
  const pid = (JSON.parse(textOf(await client.callTool("stats"))) as Stats).pid;
  daemon.track(pid);
  return pid;
}

const until = async (condition: () => boolean | Promise<boolean>, stream: NodeJS.ReadableStream) => {
  while (!(await condition())) await within(once(stream, "data"), "more output from the process under test");
};

describe("manager API: open to read, closed to everyone else", () => {
  test("without the token /ping and /status tell names and states alone, all else is 401; foreign Origin or Host get 403; never CORS", async (t) => {
    const { daemon, port } = await homeWithManager(t, { probe: probeServer() });
    const manager = await startManager(t, daemon, port);
    assert.equal(statSync(join(daemon.home, "manager.token")).mode & 0o077, 0, "the token file is the user's alone");

    const ping = await httpJson(port, "GET", "/ping");
    assert.equal(ping.status, 200);
    assert.deepEqual(Object.keys(ping.body).sort(), ["name", "role", "service", "version"]);
    assert.equal(ping.body.role, "manager");
    const open = await httpJson(port, "GET", "/status");
    assert.deepEqual(open.body, { daemons: [{ name: "probe", state: "stopped" }] }, "names and states, nothing else");
    const status = await manager.status();
    assert.deepEqual(
      status.daemons.map((d: any) => [d.name, d.state]),
      [["probe", "stopped"]],
    );
    assert.equal(status.manager.home, daemon.home, "with the token, the whole of it");

    const body = JSON.stringify({ name: "probe" });
    const json = { "content-type": "application/json" };
    for (const path of ["/start", "/stop", "/restart", "/ensure", "/start-all", "/stop-all", "/no-such-path"]) {
      const bare = await httpJson(port, "POST", path, { body, headers: json });
      assert.equal(bare.status, 401, `${path} without a token`);
      assert.doesNotMatch(
        JSON.stringify(bare.body),
        new RegExp(daemon.home.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
        "a refusal names no path",
      );
      const wrong = await httpJson(port, "POST", path, { body, headers: { ...json, authorization: "Bearer not-the-token" } });
      assert.equal(wrong.status, 401, `${path} with a wrong token`);
    }
    const authorized = { authorization: `Bearer ${manager.token()}` };
    const foreignOrigin = await httpJson(port, "POST", "/stop-all", { headers: { ...authorized, origin: "https://evil.example" } });
    assert.equal(foreignOrigin.status, 403);
    const rebinding = await httpJson(port, "GET", "/status", { headers: { host: `evil.example:${port}` } });
    assert.equal(rebinding.status, 403);
    const preflight = await httpJson(port, "OPTIONS", "/stop", { headers: { origin: "https://evil.example" } });
    assert.equal(preflight.status, 403);
    for (const answer of [ping, foreignOrigin, rebinding, preflight])
      assert.equal(answer.headers["access-control-allow-origin"], undefined);

    const unknown = await manager.post("/start", { name: "nope" });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /no server named "nope"/);
    const nameless = await manager.post("/start", {});
    assert.equal(nameless.status, 400);
    assert.equal((await manager.status()).daemons[0].state, "stopped", "nothing was started by the refused calls");
  });

  test("curl with the token and a JSON content type works: POST /start then /stop; a form or text body is refused", async (t) => {
    const { daemon, port } = await homeWithManager(t, { probe: probeServer() });
    const manager = await startManager(t, daemon, port);
    const authorization = `Bearer ${manager.token()}`;
    for (const type of ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]) {
      const refused = await httpJson(port, "POST", "/start", {
        headers: { authorization, "content-type": type },
        body: '{"name":"probe"}',
      });
      assert.equal(refused.status, 415, type);
    }
    assert.equal((await manager.status()).daemons[0].state, "stopped", "nothing was started by the refused calls");
    const form = { authorization, "content-type": "application/json" };
    const started = await httpJson(port, "POST", "/start", { headers: form, body: '{"name":"probe"}' });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.state, "running");
    const stopped = await httpJson(port, "POST", "/stop", { headers: form, body: '{"name":"probe"}' });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(stopped.body.state, "stopped");
    assert.ok(!isAlive(started.body.pid), "the daemon is gone");
  });

  test("starting a second manager for the same home starts nothing and names the first", async (t) => {
    const { daemon, port } = await homeWithManager(t, { probe: probeServer() });
    const first = await startManager(t, daemon, port);
    const second = spawnTracked(t, process.execPath, [MANAGER, "--config", join(daemon.home, "config.json"), "start"], { env: daemon.env });
    const output = await waitForOutput(second.stdout!, (text) => /probe\s+stopped/.test(text), "the second start's report");
    assert.match(output, new RegExp(`the manager already runs \\(pid ${first.child.pid}, http://127\\.0\\.0\\.1:${port}\\)`));
    assert.deepEqual(await exited(second), { code: 0, signal: null });
    const ping = await httpJson(port, "GET", "/ping", { headers: { authorization: `Bearer ${first.token()}` } });
    assert.equal(ping.body.pid, first.child.pid, "the first still answers");
  });
});

describe("manager supervision", () => {
  test("proxies get their daemon through /ensure; SIGKILL -> restarted by the manager, the proxies' next calls succeed", async (t) => {
    const { daemon, port } = await homeWithManager(t, { probe: probeServer() });
    const manager = await startManager(t, daemon, port);
    const a = await session(t, daemon);
    const b = await session(t, daemon);
    const first = daemon.lockedPid("probe")!;
    await manager.logged(new RegExp(`probe: running \\(pid ${first}, `), "the manager to run the daemon");
    assert.doesNotMatch(manager.stderr(), /started elsewhere/, "the manager started it, not a proxy");
    const child = await childPid(a, daemon);

    process.kill(first, "SIGKILL");
    await manager.logged(/probe: the daemon exited \(SIGKILL\)/, "the manager to see the crash");
    await manager.logged(new RegExp(`probe: running \\(pid (?!${first}\\b)\\d+`), "the restarted daemon");
    // The proxies re-initialize transparently; a call made now is served by the new daemon and a new child.
    for (const client of [a, b]) {
      const answer = await client.callTool("echo", { message: "after restart" });
      assert.equal(textOf(answer), "after restart", JSON.stringify(answer));
    }
    const second = daemon.lockedPid("probe")!;
    assert.notEqual(second, first);
    assert.notEqual(await childPid(a, daemon), child);
    const report = (await manager.status()).daemons[0];
    assert.equal(report.state, "running");
    assert.equal(report.pid, second);
    assert.equal(report.restarts, 1);
    assert.equal(report.sessions, 2);
    assert.match(report.lastError, /SIGKILL/);
  });

  test("a proxy asking the manager for its daemon names its project: a project-scoped server's first child starts ahead there", async (t) => {
    const { daemon, port } = await homeWithManager(t, { probe: probeServer({ scope: "project" }) });
    const manager = await startManager(t, daemon, port);
    const project = tempDir(t);
    const client = new ProxyClient(t, ["--config", join(daemon.home, "config.json"), "--target", "probe"], {
      env: { ...daemon.env, CLAUDE_PROJECT_DIR: project },
      cwd: project,
    });
    await client.initialize();
    const stats = JSON.parse(textOf(await client.callTool("stats"))) as Stats & { cwd: string };
    daemon.track(stats.pid);
    assert.equal(stats.cwd, realpathSync(project));
    await manager.logged(/probe: running \(pid \d+, /, "the manager to run the daemon");
    assert.match(
      readFileSync(join(daemon.home, "probe.log"), "utf8"),
      spareStarted(stats.pid),
      "the session's child was started with the daemon, in the project the proxy named to the manager",
    );
  });

  test("a daemon that hangs (SIGSTOP) misses three health checks and is killed and restarted", async (t) => {
    const { daemon, port } = await homeWithManager(t, { probe: probeServer() }, { healthIntervalMs: 200 });
    const manager = await startManager(t, daemon, port);
    assert.equal((await manager.post("/start", { name: "probe" })).status, 200);
    const hung = daemon.lockedPid("probe")!;
    process.kill(hung, "SIGSTOP");
    onCleanup(t, () => {
      if (isAlive(hung)) process.kill(hung, "SIGKILL");
    });
    await manager.logged(/probe: stopped answering health checks \(3 in a row\); killed and restarted/, "the manager to give up on it");
    await manager.logged(new RegExp(`probe: running \\(pid (?!${hung}\\b)\\d+`), "the replacement");
    assert.ok(!isAlive(hung), "the hung daemon was killed");
    const client = await session(t, daemon);
    assert.equal(textOf(await client.callTool("echo", { message: "fresh" })), "fresh");
  });

  test("a port held by a stranger is reported as such, not counted as crashes, and the daemon starts once it is free", async (t) => {
    const probePort = await freePort();
    const { daemon, port } = await homeWithManager(
      t,
      { probe: probeServer({ port: probePort }) },
      { healthIntervalMs: 200, restartLimit: 1 },
    );
    const stranger = http.createServer((_, response) => response.end("mine"));
    stranger.listen(probePort, "127.0.0.1");
    await once(stranger, "listening");
    const manager = await startManager(t, daemon, port);
    const refused = await manager.post("/start", { name: "probe" });
    assert.equal(refused.status, 503);
    assert.match(
      refused.body.error,
      new RegExp(`port ${probePort} is in use by pid ${process.pid} .*, which is not this home's "probe" daemon`),
    );
    await manager.logged(/starting it once the port is free/, "the port to be found taken");
    let status = (await manager.status()).daemons[0];
    assert.deepEqual([status.state, status.restarts], ["foreign", 0], "waiting, not crashing toward failed");
    const client = new ProxyClient(t, ["--config", join(daemon.home, "config.json"), "--target", "probe"], { env: daemon.env });
    const answer = await client.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.match(answer.error?.message ?? "", new RegExp(`port ${probePort} is in use`), "proxies are told why at once");

    await new Promise((resolve) => stranger.close(resolve));
    await manager.logged(new RegExp(`port ${probePort} is free again: starting`), "the manager to see the port free");
    await manager.logged(/probe: running \(pid/, "the daemon to run");
    status = (await manager.status()).daemons[0];
    assert.equal(status.state, "running");
    const next = await session(t, daemon);
    assert.equal(textOf(await next.callTool("echo", { message: "mine now" })), "mine now");
  });

  test("an HTTP server that crashes at start-up: its daemon backs off, then gives up; proxies get an error naming the log, without waiting", async (t) => {
    const crashPort = await freePort();
    const { daemon, port } = await homeWithManager(
      t,
      // A ten-minute start timeout: an error that comes sooner comes from the failed start, not from waiting.
      {
        crashy: {
          command: process.execPath,
          args: ["-e", "console.error('cannot open the database'); process.exit(3)"],
          transport: "streamable-http",
          port: crashPort,
          startTimeoutMs: 600_000,
        },
      },
      { restartLimit: 2, restartBackoffMs: 50 },
    );
    const manager = await startManager(t, daemon, port);
    const client = new ProxyClient(t, ["--config", join(daemon.home, "config.json"), "--target", "crashy"], { env: daemon.env });
    const params = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } };
    const answer = await client.request("initialize", params);
    assert.ok(answer.error, JSON.stringify(answer));
    assert.match(answer.error.message, /the HTTP server exited with code 3 during start-up; its last lines: .*cannot open the database/);
    assert.ok(answer.error.message.includes(join(daemon.home, "crashy.log")), answer.error.message);

    const log = () => readFileSync(join(daemon.home, "crashy.log"), "utf8");
    await polled(() => /giving up after 3 failures in a row/.test(log()), "the daemon gave up on its server");
    assert.match(log(), /exited with code 3; starting it again in 0 ms/);
    assert.match(log(), /exited with code 3; starting it again in 50 ms/);
    const report = (await manager.status()).daemons[0];
    assert.equal(report.state, "failed");
    assert.equal(report.restarts, 2);
    assert.match(report.lastError, /code 3/);

    // A new session: the server that gave up is not retried, and the answer is immediate and says so.
    const next = new ProxyClient(t, ["--config", join(daemon.home, "config.json"), "--target", "crashy"], { env: daemon.env });
    const again = await next.request("initialize", params);
    assert.match(again.error.message, /the HTTP server keeps failing \(the HTTP server exited with code 3\)/);
    assert.equal(
      (log().match(/^\S+ \[daemon \d+ crashy\] started the HTTP server/gm) ?? []).length,
      3,
      `no start after giving up:\n${log()}`,
    );
    assert.equal(client.child.exitCode, null, "the proxy stays up for when the server is fixed");
  });

  test("stop is respected: proxies do not start it again and say how to; start brings it back", async (t) => {
    const { daemon, port } = await homeWithManager(t, { probe: probeServer() });
    const manager = await startManager(t, daemon, port);
    const client = await session(t, daemon);
    const child = await childPid(client, daemon);
    const stopped = await manager.post("/stop", { name: "probe" });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.ok(!isAlive(child), "the server went with its daemon");

    await until(() => /daemon session lost/.test(client.stderr), client.child.stderr!);
    const refused = await client.callTool("echo", { message: "x" });
    assert.match(
      refused.error?.message ?? "",
      /stopped on purpose \(mcp-manager stop, at .*\); start it again with: mcp-manager start probe/,
    );
    const report = (await manager.status()).daemons[0];
    assert.equal(report.state, "stopped");
    assert.equal(report.stoppedOnPurpose, true);

    assert.equal((await manager.post("/start", { name: "probe" })).status, 200);
    assert.equal(textOf(await client.callTool("echo", { message: "back" })), "back");
  });

  test("a proxy whose config names a server the manager does not know starts that daemon itself", async (t) => {
    const { daemon, port } = await homeWithManager(t, { probe: probeServer() });
    await startManager(t, daemon, port);
    const other = join(daemon.home, "other.json");
    writeFileSync(other, JSON.stringify({ manager: { port }, servers: { extra: probeServer() } }));
    const client = new ProxyClient(t, ["--config", other, "--target", "extra"], { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "extra" })), "extra");
    assert.match(client.stderr, /no server named "extra" .*; starting the daemon directly/);
  });

  test("stopping the manager stops the daemons it started, whole process groups, and leaves adopted ones running", async (t) => {
    const { daemon, port } = await homeWithManager(t, { adopted: probeServer(), own: probeServer() });
    const early = await session(t, daemon, "adopted"); // started by its proxy before any manager ran
    const adoptedPid = daemon.lockedPid("adopted")!;
    const manager = await startManager(t, daemon, port);
    await manager.logged(/adopted: adopted the running daemon/, "the manager to adopt the running daemon");
    const started = await manager.post("/start", { name: "own" });
    assert.equal(started.status, 200);
    const own = await session(t, daemon, "own");
    const ownChild = await childPid(own, daemon);
    const ownDaemon = daemon.lockedPid("own")!;

    manager.child.kill("SIGTERM");
    await once(manager.child, "exit");
    assert.ok(!isAlive(ownDaemon), "the daemon the manager started is stopped");
    assert.ok(!isAlive(ownChild), "with its server's process group");
    assert.ok(isAlive(adoptedPid), "the adopted daemon runs on");
    assert.equal(textOf(await early.callTool("echo", { message: "still" })), "still");
  });
});
