import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { until } from "./helpers/bounded.js";
import { onCleanup } from "./helpers/cleanup.js";
import { configuredHome, probeServer } from "./helpers/daemon-home.js";
import { httpJson, runManagerCli } from "./helpers/manager.js";
import { freePort, isAlive } from "./helpers/processes.js";
import { ProxyClient, textOf } from "./helpers/proxy-client.js";
import { tempDir } from "./helpers/temp-dir.js";

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * What a squatter does: listen where our manager or daemon should be and answer `/ping` as they would, with
 * a proof it cannot make. It records everything it is sent.
 */
async function squatter(t: TestContext, port: number, identity: { role: string; name: string }): Promise<Received[]> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      received.push({ method: request.method!, url: request.url!, headers: request.headers, body });
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ service: "mcp-session-manager", ...identity, version: "2", instance: "i", proof: "forged", pid: 1 }));
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  onCleanup(t, () => new Promise((resolve) => server.close(resolve)));
  return received;
}

function assertOnlyChallenged(received: Received[]): void {
  assert.ok(received.length > 0, "the squatter was challenged");
  for (const request of received) {
    assert.equal(`${request.method} ${request.url}`, "GET /ping", "nothing but the challenge reached the squatter");
    assert.ok(request.headers["mcp-session-manager-challenge"], "a challenge");
    assert.equal(request.headers.authorization, undefined, "no token, no credential");
    assert.equal(request.body, "");
  }
}

const INITIALIZE = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } };

const readIfThere = (file: string): string => (existsSync(file) ? readFileSync(file, "utf8") : "");

describe("who a proxy and the CLI speak to", () => {
  test("a squatter on the manager port gets a challenge and nothing else; the proxy starts its daemon itself, start names the squatter", async (t) => {
    const port = await freePort();
    const daemon = configuredHome(t, { probe: probeServer() }, { manager: { port } });
    const received = await squatter(t, port, { role: "manager", name: "" });
    const client = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "served" })), "served");
    assert.ok(daemon.lockedPid("probe"), "the proxy started the daemon itself");
    // Now that the home has a token, a second proxy challenges the squatter, and is not fooled either.
    const second = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await second.initialize();

    const start = await runManagerCli(["start"], { env: daemon.env });
    assert.notEqual(start.code, 0);
    assert.match(
      start.stderr,
      new RegExp(`port ${port} is in use by pid ${process.pid} \\(.*\\) of user \\S+, which is not this home's manager`),
    );
    const status = await runManagerCli(["status", "--json"], { env: daemon.env });
    assert.equal(JSON.parse(status.stdout).manager, null, "status does not believe it either");

    // With their daemon gone, the proxies ask the manager for it: they challenge the squatter, and start it themselves.
    const gone = daemon.lockedPid("probe")!;
    process.kill(gone, "SIGTERM");
    await until(() => !isAlive(gone), "the daemon to stop");
    const third = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await third.initialize();
    assert.notEqual(daemon.lockedPid("probe"), gone, "a new daemon, started by a proxy");
    assertOnlyChallenged(received);
  });

  test("a daemon of another home on the shared port is not used: its sessions stay its own", async (t) => {
    const port = await freePort();
    const mine = configuredHome(t, { probe: probeServer({ port }) });
    const theirs = configuredHome(t, { probe: probeServer({ port }) });
    const theirClient = new ProxyClient(t, ["--target", "probe"], { env: theirs.env });
    await theirClient.initialize();
    const theirDaemon = theirs.lockedPid("probe")!;

    const myClient = new ProxyClient(t, ["--target", "probe"], { env: mine.env });
    const answer = await myClient.request("initialize", INITIALIZE);
    assert.match(
      answer.error?.message ?? "",
      new RegExp(
        `port ${port} is in use by pid ${theirDaemon} \\(.*daemon/index\\.js probe\\) of user \\S+, which is not this home's "probe" daemon`,
      ),
    );
    const health = await httpJson(port, "GET", "/health", { headers: { authorization: `Bearer ${theirs.token()}` } });
    assert.equal(health.body.sessions, 1, "the other home's daemon serves its own session alone");
    assert.equal((await httpJson(port, "GET", "/health", { headers: { authorization: `Bearer ${mine.token()}` } })).status, 401);
  });

  test("over HTTP (a home too long for sockets), once the daemon is gone its port's next holder gets a challenge and nothing else", async (t) => {
    const port = await freePort();
    const daemon = configuredHome(t, { probe: probeServer({ port }) }, {}, { route: "HTTP" });
    const client = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "before" })), "before");
    const pid = daemon.lockedPid("probe")!;
    // Stopped on purpose, so that no proxy starts it again and the port stays free for the squatter.
    const stopped = await runManagerCli(["stop", "probe"], { env: daemon.env });
    assert.equal(stopped.code, 0, stopped.stderr);
    await until(() => !isAlive(pid), "the daemon to stop");
    const received = await squatter(t, port, { role: "daemon", name: "probe" });
    const answer = await client.callTool("echo", { message: "secret plans" });
    assert.ok(answer.error, "the call fails rather than going to whoever holds the port now");
    for (const request of received) assert.equal(`${request.method} ${request.url}`, "GET /ping", "only a challenge");
    assert.ok(received.every((request) => request.headers.authorization === undefined && !request.body.includes("secret")));
  });

  test("a home deleted under a running manager comes back with the same token; new proxies are served", async (t) => {
    const port = await freePort();
    const daemon = configuredHome(t, {}, {});
    // The config lives outside the home here, so that deleting the home leaves it.
    const config = join(tempDir(t), "config.json");
    writeFileSync(config, JSON.stringify({ manager: { port, healthIntervalMs: 200 }, servers: { probe: probeServer() } }));
    const manager = await runManagerCli(["--config", config, "start", "--detach"], { env: daemon.env });
    assert.equal(manager.code, 0, manager.stderr);
    onCleanup(t, () => runManagerCli(["--config", config, "stop", "--manager"], { env: daemon.env }));
    const first = new ProxyClient(t, ["--config", config, "--target", "probe"], { env: daemon.env });
    await first.initialize();
    const token = daemon.token();
    const daemonPid = daemon.lockedPid("probe")!;

    rmSync(daemon.home, { recursive: true, force: true });
    await until(() => existsSync(join(daemon.home, "manager.token")), "the manager to recreate the home and its token");
    assert.equal(readFileSync(join(daemon.home, "manager.token"), "utf8").trim(), token, "the same token");
    await until(() => existsSync(join(daemon.home, "manager.lock")), "the manager to put its lock back");
    // Within its housekeeping round (10 s): were it killed later, its server would otherwise be nobody's to stop.
    await until(
      () => readdirSync(daemon.home).some((name) => name.startsWith(`probe.children.${daemonPid}-`)),
      "the daemon to put its list of children back",
    );

    const next = new ProxyClient(t, ["--config", config, "--target", "probe"], { env: daemon.env });
    await next.initialize();
    assert.equal(textOf(await next.callTool("echo", { message: "after" })), "after");
    assert.equal(textOf(await first.callTool("echo", { message: "still" })), "still", "the first session goes on");
    // The daemon's log is written where `mcp-manager logs` reads it, not into the deleted file: its server's stderr.
    await first.callTool("stderr_flood", { bytes: 1000 });
    await until(
      () => new RegExp(`\\[daemon ${daemonPid} probe\\] `).test(readIfThere(join(daemon.home, "probe.log"))),
      "the daemon's log back at its path",
    );
    const status = await runManagerCli(["--config", config, "status", "--json"], { env: daemon.env });
    assert.ok(JSON.parse(status.stdout).manager?.pid, "the CLI proves and reaches the manager");
  });
});
