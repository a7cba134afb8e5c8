import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { until } from "./helpers/bounded.js";
import { everythingHome, processGroupOf } from "./helpers/daemon-home.js";
import { MANAGER } from "./helpers/paths.js";
import { exited, isAlive, killTree } from "./helpers/processes.js";
import { ProxyClient, textOf, type Message } from "./helpers/proxy-client.js";
import { startEverything } from "./helpers/servers.js";
import { lockRecord } from "../src/runtime/lock-file.js";

const SAMPLING_ANSWER = { role: "assistant", content: { type: "text", text: "sampled by the test client" }, model: "test-model" };

/** server-everything as the configured HTTP server "everything", in `mode`, with its daemon's log and the servers it started. */
async function webHome(t: TestContext, mode: "streamableHttp" | "sse" = "streamableHttp") {
  const daemon = await everythingHome(t, {}, mode);
  const log = () => readFileSync(join(daemon.home, "everything.log"), "utf8");
  /** The pids of the HTTP servers the daemon started, in order, from its log. */
  const servers = () => [...log().matchAll(/started the HTTP server \(pid (\d+)\)/g)].map((match) => Number(match[1]));
  return { ...daemon, log, servers };
}

/** A session's daemon killed with SIGKILL once its session ended: its server runs on, left behind. */
async function daemonKilledOutright(t: TestContext) {
  const daemon = await webHome(t);
  const first = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
  await first.initialize();
  const daemonPid = daemon.lockedPid()!;
  const server = daemon.servers()[0]!;
  // Its proxy leaves first: it would start the daemon again itself at once.
  first.child.stdin!.end();
  await exited(first.child);
  killTree(daemonPid, "SIGKILL");
  await until(() => !isAlive(daemonPid), "the daemon died");
  assert.ok(isAlive(server), "its server outlived it");
  return { daemon, server };
}

for (const mode of ["streamableHttp", "sse"] as const) {
  describe(`a configured HTTP server (server-everything, ${mode}) runs under its daemon`, () => {
    test("its daemon starts it in a process group of its own, and sessions reach it over the session socket", async (t) => {
      const daemon = await webHome(t, mode);
      const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
      const init = await client.initialize();
      assert.equal(init.result.serverInfo.name, "mcp-servers/everything");
      assert.equal(textOf(await client.callTool("echo", { message: "through the daemon" })), "Echo: through the daemon");

      const lock = daemon.lock("everything")!;
      assert.ok(lock.sessionSocket, "the daemon offers a session socket");
      assert.notEqual(lock.url, `http://127.0.0.1:${daemon.port}/mcp`, "the daemon listens apart from its server");
      const [server] = daemon.servers();
      assert.ok(server !== undefined && isAlive(server), daemon.log());
      assert.equal(processGroupOf(server).ppid, lock.pid, "the server is the daemon's child");
      assert.equal(processGroupOf(server).pgid, server, "in a process group of its own");
    });

    test("a client that sends its handshake and a call at once: the server gets each, in order", async (t) => {
      const daemon = await webHome(t, mode);
      const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
      const params = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "eager", version: "1" } };
      client.send({ jsonrpc: "2.0", id: 1, method: "initialize", params });
      client.send({ jsonrpc: "2.0", method: "notifications/initialized" });
      client.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { message: "at once" } } });
      assert.equal(textOf(await client.responseTo(2)), "Echo: at once");
      assert.doesNotMatch(daemon.log(), /refused a notifications\/initialized/, "the notification waited for the session id");
    });

    test("each session has its own session on the server: server requests go to the session asked", async (t) => {
      const daemon = await webHome(t, mode);
      const sessions = ["a", "b"].map((name) => {
        const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
        const asked: Message[] = [];
        client.onServerRequest = (request) => {
          if (request.method !== "sampling/createMessage") return undefined;
          asked.push(request);
          return { ...SAMPLING_ANSWER, content: { type: "text", text: `sampled by ${name}` } };
        };
        return { name, client, asked };
      });
      for (const { client } of sessions) await client.initialize({ sampling: {} });
      for (const { name, client } of sessions) {
        const result = await client.callTool("trigger-sampling-request", { prompt: `asked of ${name}` });
        assert.match(textOf(result), new RegExp(`sampled by ${name}`));
      }
      for (const { name, asked } of sessions) {
        assert.equal(asked.length, 1, `${name} was asked once`);
        assert.match(asked[0]!.params.messages[0].content.text, new RegExp(`asked of ${name}`), `${name} was asked about its own call`);
      }
    });
  });
}

describe("the daemon of a configured HTTP server keeps it running", () => {
  test("a server that dies is started again, and sessions carry on without noticing", async (t) => {
    const daemon = await webHome(t);
    const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "before" })), "Echo: before");
    const [first] = daemon.servers();
    killTree(first, "SIGKILL");
    await until(() => (daemon.log().match(/the HTTP server \(pid \d+\) listens on/g) ?? []).length === 2, "the server started again");
    assert.equal(textOf(await client.callTool("echo", { message: "after" })), "Echo: after");
    assert.doesNotMatch(client.stderr, /daemon session lost/, "the proxy's session with the daemon never broke");
    assert.match(daemon.log(), /re-initialized the server session/, "the daemon replayed the session's handshake to the new server");
  });

  test("stopping the daemon stops its server; a daemon killed outright leaves none holding the port", async (t) => {
    const { daemon, server } = await daemonKilledOutright(t);

    // The next session's start finds the leftover, stops it, and starts the server afresh on its port.
    const next = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
    await next.initialize();
    assert.equal(textOf(await next.callTool("echo", { message: "fresh" })), "Echo: fresh");
    assert.ok(!isAlive(server), "the leftover server was stopped");

    const nextDaemon = daemon.lockedPid()!;
    const nextServer = daemon.servers().at(-1)!;
    process.kill(nextDaemon, "SIGTERM");
    await until(() => !isAlive(nextDaemon) && !isAlive(nextServer), "the daemon and its server stopped");
  });

  test("an HTTP server an earlier version started without a daemon is stopped, and its daemon starts it anew", async (t) => {
    const daemon = await webHome(t);
    // What an earlier version left: the server itself, started detached, and a lock naming it at its own URL.
    const old = await startEverything(t, "streamableHttp", daemon.port);
    const url = `http://127.0.0.1:${daemon.port}/mcp`;
    const record = lockRecord({
      name: "everything",
      pid: old.child.pid!,
      url,
      startedBy: process.pid,
      startedAt: new Date().toISOString(),
    });
    writeFileSync(join(daemon.home, "everything.lock"), JSON.stringify(record));

    const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "upgraded" })), "Echo: upgraded");
    assert.match(
      client.stderr,
      new RegExp(`stopping the HTTP server an earlier version started without a daemon \\(pid ${old.child.pid}\\)`),
    );
    await until(() => !isAlive(old.child.pid!), "the old server gone");
    assert.notEqual(daemon.lockedUrl("everything"), url, "a daemon holds the lock now");
    assert.equal(processGroupOf(daemon.servers().at(-1)!).ppid, daemon.lockedPid(), "and runs the server");
  });

  test("a server a killed daemon left running: doctor says whose it is, and stop ends it", async (t) => {
    const { daemon, server } = await daemonKilledOutright(t);

    const manager = (...args: string[]) =>
      spawnSync(process.execPath, [MANAGER, ...args], { env: daemon.env, encoding: "utf8", timeout: 60_000 });
    const doctor = manager("doctor");
    assert.match(
      doctor.stdout,
      new RegExp(`its server \\(pid ${server}\\) still holds port ${daemon.port}, left running by a daemon that was killed`),
    );
    const stop = manager("stop", "everything");
    assert.equal(stop.status, 0, stop.stderr);
    assert.match(
      stop.stdout,
      new RegExp(`everything: its daemon was not running; stopping child ${server} left running by a previous daemon`),
    );
    await until(() => !isAlive(server), "the leftover server stopped");
  });
});
