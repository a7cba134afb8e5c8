import assert from "node:assert/strict";
import { until, within } from "./helpers/bounded.js";
import { once } from "node:events";
import { readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import { describe, test, type TestContext } from "node:test";
import { onCleanup } from "./helpers/cleanup.js";
import { configuredHome, probeServer } from "./helpers/daemon-home.js";
import { runManagerCli } from "./helpers/manager.js";
import { ProxyClient, type Message } from "./helpers/proxy-client.js";
import { tempDir } from "./helpers/temp-dir.js";
import { proofFor } from "../src/runtime/identity-proof.js";

const PROTOCOL = "mcp-session-manager/session-socket/1";
const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

/** A raw connection to a session socket: lines out, parsed lines in, waits on lines arriving. */
class SocketLines {
  readonly received: Message[] = [];
  readonly socket: net.Socket;
  private buffer = "";
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(t: TestContext, path: string) {
    this.socket = net.connect(path);
    this.socket.setEncoding("utf8");
    this.socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let newline: number;
      while ((newline = this.buffer.indexOf("\n")) >= 0) {
        this.received.push(JSON.parse(this.buffer.slice(0, newline)) as Message);
        this.buffer = this.buffer.slice(newline + 1);
      }
      this.wake();
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    onCleanup(t, () => void this.socket.destroy());
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  send(value: unknown): void {
    this.socket.write((typeof value === "string" ? value : JSON.stringify(value)) + "\n");
  }

  /** The first received line that matches, waiting for it if needed. */
  async waitFor(match: (message: Message) => boolean, what: string): Promise<Message> {
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  answerTo(id: unknown): Promise<Message> {
    return this.waitFor((m) => m.id === id && m.method === undefined, `the answer to ${JSON.stringify(id)}`);
  }

  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Greets and returns the daemon's welcome. */
  async greet(hello: Record<string, unknown> = { protocol: PROTOCOL }): Promise<Message> {
    this.send(hello);
    return this.waitFor((m) => "protocol" in m, "the welcome");
  }
}

/** A daemon for the probe server, started the way users get one: by a proxy. */
async function runningDaemon(t: TestContext, options: Record<string, unknown> = {}) {
  const daemon = configuredHome(t, { probe: probeServer(options) });
  const proxy = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
  await proxy.initialize();
  const lock = daemon.lock("probe")!;
  assert.ok(lock.sessionSocket, "the lock names the session socket");
  return { daemon, proxy, path: lock.sessionSocket, health: { url: new URL("/health", lock.url), token: daemon.token() } };
}

async function sessionCount(health: { url: URL; token: string }): Promise<number> {
  const answer = await fetch(health.url, { headers: { authorization: `Bearer ${health.token}` } });
  return ((await answer.json()) as { sessions: number }).sessions;
}

describe("daemon session socket", () => {
  test("the proxy's session runs on it; the file is the user's alone; closing the connection ends the session", async (t) => {
    const { daemon, path, health } = await runningDaemon(t);
    assert.equal(statSync(path).mode & 0o077, 0, "no one else may connect");
    assert.equal(path, `${daemon.home}/probe.session.sock`);
    assert.equal(await sessionCount(health), 1, "the proxy's session");

    const raw = new SocketLines(t, path);
    const welcome = await raw.greet({ protocol: PROTOCOL, client: "raw test" });
    assert.equal(welcome.protocol, PROTOCOL);
    assert.match(welcome.session, /^[0-9a-f-]{36}$/);
    assert.equal(await sessionCount(health), 2);
    raw.socket.end();
    await raw.untilClosed();
    // The daemon ends the session when it sees the connection close: ask until it has.
    await until(async () => (await sessionCount(health)) === 1, "the daemon to count one session");
  });

  test("version 2: the daemon answers a challenge with its proof for this socket, then takes the greeting", async (t) => {
    const { daemon, path, health } = await runningDaemon(t);
    const PROVEN = "mcp-session-manager/session-socket/2";
    const raw = new SocketLines(t, path);
    const challenge = "a-challenge-of-enough-length";
    const proof = await raw.greet({ protocol: PROVEN, challenge });
    assert.equal(proof.session, undefined, "no session before the greeting");
    assert.deepEqual([proof.protocol, proof.role, proof.name], [PROVEN, "daemon", "probe"]);
    const expected = proofFor(daemon.token(), { role: "daemon", name: "probe" }, `unix:${path}`, proof.instance, challenge);
    assert.equal(proof.proof, expected);
    raw.send({ protocol: PROVEN, projectPath: "/", client: "raw test" });
    const welcome = await raw.waitFor((m) => "session" in m, "the welcome");
    assert.equal(welcome.protocol, PROVEN);
    assert.equal(await sessionCount(health), 2);

    // Proven once, the daemon takes the greeting only: not a second challenge, nor a greeting without a project.
    for (const second of [
      { protocol: PROVEN, challenge },
      { protocol: PROVEN, client: "raw test" },
    ]) {
      const twice = new SocketLines(t, path);
      await twice.greet({ protocol: PROVEN, challenge });
      twice.send(second);
      const refused = await twice.waitFor((m) => "error" in m, "the refusal");
      assert.match(refused.error, /a greeting with the project path and the client, and no second challenge/);
      await twice.untilClosed();
    }
    assert.equal(await sessionCount(health), 2, "neither opened a session");

    const short = new SocketLines(t, path);
    assert.match((await short.greet({ protocol: PROVEN, challenge: "short" })).error, /challenge of 16 to 256 characters/);
    await short.untilClosed();
  });

  test("a greeting in another protocol, or not JSON, is refused with the reason, and the connection closed", async (t) => {
    const { path } = await runningDaemon(t);
    const other = new SocketLines(t, path);
    const refused = await other.greet({ protocol: "mcp-session-manager/session-socket/99" });
    assert.match(refused.error, /unsupported protocol .*session-socket\/99.*speaks mcp-session-manager\/session-socket\/1/);
    assert.equal(refused.session, undefined);
    await other.untilClosed();

    const http = new SocketLines(t, path);
    http.send("POST /mcp HTTP/1.1");
    assert.match((await http.waitFor((m) => "protocol" in m, "the refusal")).error, /not a greeting/);
    await http.untilClosed();
  });

  test("initialize first and once; bad lines get errors addressed to their ids; a batch line is answered per message", async (t) => {
    const { path } = await runningDaemon(t);
    const raw = new SocketLines(t, path);
    await raw.greet();

    raw.send({ jsonrpc: "2.0", id: "early", method: "tools/list" });
    assert.match((await raw.answerTo("early")).error.message, /not initialized/);
    raw.send(INITIALIZE);
    assert.equal((await raw.answerTo(1)).result.serverInfo.name, "stdio-probe");
    raw.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    raw.send({ ...INITIALIZE, id: 2 });
    assert.match((await raw.answerTo(2)).error.message, /already initialized/);

    raw.send("{not json");
    const parse = await raw.waitFor((m) => m.error?.code === -32700, "the parse error");
    assert.equal(parse.id, null);
    raw.send({ jsonrpc: "2.0", id: 3, method: 7 });
    assert.equal((await raw.answerTo(3)).error.code, -32600);

    raw.send([
      { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "echo", arguments: { message: "four" } } },
      { jsonrpc: "2.0", id: "five", method: "ping" },
    ]);
    assert.equal((await raw.answerTo(4)).result.content[0].text, "four");
    assert.deepEqual((await raw.answerTo("five")).result, {});
    assert.equal(raw.closed, false, "the session goes on");
  });

  test("a line over the size limit is dropped and its request answered with an error; the session goes on", async (t) => {
    const { path } = await runningDaemon(t);
    const raw = new SocketLines(t, path);
    await raw.greet();
    raw.send(INITIALIZE);
    await raw.answerTo(1);
    raw.send({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "echo", arguments: { message: "x".repeat(33 * 1024 * 1024) } },
    });
    assert.match((await raw.answerTo(7)).error.message, /Payload too large: message of \d+ bytes exceeds the 33554432-byte limit/);
    raw.send({ jsonrpc: "2.0", id: 8, method: "ping" });
    assert.deepEqual((await raw.answerTo(8)).result, {});
  });

  test("project scope: the greeting's project picks the child; a project that does not exist is refused", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer({ scope: "project" }) });
    const project = realpathSync(tempDir(t));
    const proxy = new ProxyClient(t, ["--target", "probe"], { env: { ...daemon.env, CLAUDE_PROJECT_DIR: project } });
    await proxy.initialize();
    const path = daemon.lock("probe")!.sessionSocket!;

    const raw = new SocketLines(t, path);
    await raw.greet({ protocol: PROTOCOL, projectPath: project });
    raw.send(INITIALIZE);
    await raw.answerTo(1);
    raw.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stats", arguments: {} } });
    const stats = JSON.parse((await raw.answerTo(2)).result.content[0].text) as { cwd: string; pid: number };
    daemon.track(stats.pid);
    assert.equal(stats.cwd, project, "the project's child, started in the project");

    const missing = new SocketLines(t, path);
    const refused = await missing.greet({ protocol: PROTOCOL, projectPath: `${project}/no-such-dir` });
    assert.match(refused.error, /project path .*no-such-dir"? does not exist/);
    await missing.untilClosed();
  });

  test("a new proxy reaches a running daemon through its session socket alone, proven there, without HTTP", async (t) => {
    const { daemon, path } = await runningDaemon(t);
    // Nothing answers at the lock's HTTP addresses any more: only the session socket's proof can find the daemon.
    const lockFile = join(daemon.home, "probe.lock");
    const lock = JSON.parse(readFileSync(lockFile, "utf8")) as Record<string, unknown>;
    rmSync(lock.socket as string);
    writeFileSync(lockFile, JSON.stringify({ ...lock, url: "http://127.0.0.1:1/mcp", socket: undefined }));
    const late = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await late.initialize();
    assert.equal((await late.callTool("echo", { message: "proven here" })).result.content[0].text, "proven here");
    assert.equal(daemon.lock("probe")!.sessionSocket, path);
  });

  test("a daemon whose lock says it speaks only the first protocol is greeted in that one, without a challenge", async (t) => {
    const { daemon } = await runningDaemon(t);
    const lockFile = join(daemon.home, "probe.lock");
    const lock = JSON.parse(readFileSync(lockFile, "utf8")) as Record<string, unknown>;
    writeFileSync(lockFile, JSON.stringify({ ...lock, sessionProtocol: undefined }));
    const late = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await late.initialize();
    assert.equal((await late.callTool("echo", { message: "first protocol" })).result.content[0].text, "first protocol");
    assert.doesNotMatch(readFileSync(join(daemon.home, "probe.log"), "utf8"), /refused a session socket connection/);
  });

  test("socket files removed by hand: a new proxy reaches the same daemon over HTTP on its port", async (t) => {
    const { daemon, path } = await runningDaemon(t);
    const pid = daemon.lockedPid("probe");
    rmSync(path);
    rmSync(daemon.lock("probe")!.socket!);
    const late = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await late.initialize();
    assert.equal((await late.callTool("echo", { message: "over HTTP" })).result.content[0].text, "over HTTP");
    assert.equal(daemon.lockedPid("probe"), pid, "no second daemon");
    const doctor = await runManagerCli(["doctor"], { env: daemon.env });
    assert.match(
      doctor.stdout,
      /warn\s+probe: proxies reach it over HTTP.*: its session socket .* was removed\n\s+-> mcp-manager restart probe/,
    );
  });

  test("a home whose path is too long for a Unix socket: proxies use HTTP, and doctor says why and what to do", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() }, {}, { route: "HTTP" });
    const proxy = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await proxy.initialize();
    assert.equal((await proxy.callTool("echo", { message: "long home" })).result.content[0].text, "long home");
    assert.equal(daemon.lock("probe")?.sessionSocket, undefined);
    const doctor = await runManagerCli(["doctor"], { env: daemon.env });
    assert.match(
      doctor.stdout,
      /note\s+probe: proxies reach it over HTTP.* is too long for a Unix socket\n\s+-> set MCP_SESSION_MANAGER_HOME to a shorter path/,
    );
    assert.equal(doctor.code, 0, "a slower route is not a problem to fix");
  });

  test("a daemon that stops closes every connection: the proxy sees it at once and comes back on a new daemon", async (t) => {
    const { daemon, proxy } = await runningDaemon(t);
    const first = daemon.lockedPid("probe")!;
    process.kill(first, "SIGTERM");
    while (!/re-initialized the daemon session/.test(proxy.stderr))
      await within(once(proxy.child.stderr!, "data"), "the proxy to re-initialize");
    const second = daemon.lockedPid("probe")!;
    assert.notEqual(second, first);
    const echo = await proxy.callTool("echo", { message: "on the new daemon" });
    assert.equal(echo.result.content[0].text, "on the new daemon");
  });
});
