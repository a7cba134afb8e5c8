import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { describe, test, type TestContext } from "node:test";
import { until } from "./helpers/bounded.js";
import { configuredHome } from "./helpers/daemon-home.js";
import { runManagerCli } from "./helpers/manager.js";
import { exited, freePort, isAlive, killTree } from "./helpers/processes.js";
import { ProxyClient, textOf, type Message } from "./helpers/proxy-client.js";
import { startEverything } from "./helpers/servers.js";

/** server-everything, run by the test as a server that is not ours, and a home whose entry "far" gives only its URL. */
async function remoteHome(t: TestContext, mode: "streamableHttp" | "sse" = "streamableHttp", entry: Record<string, unknown> = {}) {
  const server = await startEverything(t, mode);
  const daemon = configuredHome(t, { far: { url: server.url, ...(mode === "sse" ? { transport: "sse" } : {}), ...entry } });
  return { ...daemon, server };
}

const progressOf = (client: ProxyClient) => client.received.filter((m: Message) => m.method === "notifications/progress");

for (const mode of ["streamableHttp", "sse"] as const) {
  describe(`a server given by URL (server-everything, ${mode}) is reached through a daemon of its own`, () => {
    test("sessions reach it over the session socket, each with an HTTP session of its own there", async (t) => {
      const home = await remoteHome(t, mode);
      const a = new ProxyClient(t, ["--target", "far"], { env: home.env });
      const b = new ProxyClient(t, ["--target", "far"], { env: home.env });
      const [initA] = await Promise.all([a.initialize(), b.initialize()]);
      assert.equal(initA.result.serverInfo.name, "mcp-servers/everything");
      assert.equal(textOf(await a.callTool("echo", { message: "from a" })), "Echo: from a");

      const lock = home.lock("far")!;
      assert.ok(lock.pid && isAlive(lock.pid), "a daemon runs for the remote server");
      assert.ok(lock.sessionSocket, "and offers its session socket");
      assert.notEqual(lock.url, home.server.url, "the daemon listens apart from the server");

      // The same progress token in both sessions: each sees its own call's progress, and only that.
      const steps = 3;
      const params = { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps }, _meta: { progressToken: "same" } };
      const [doneA, doneB] = await Promise.all([a.request("tools/call", params), b.request("tools/call", params)]);
      assert.ok(doneA.result && doneB.result, "both long calls finish");
      assert.equal(progressOf(a).length, steps, "session a got its own progress, not b's");
      assert.equal(progressOf(b).length, steps, "session b got its own progress, not a's");
    });
  });
}

describe("a remote server's daemon", () => {
  test("a server restarted on its port: the session carries on, its handshake replayed unseen", async (t) => {
    const home = await remoteHome(t);
    const client = new ProxyClient(t, ["--target", "far"], { env: home.env });
    const init = await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "before" })), "Echo: before");

    killTree(home.server.child.pid, "SIGKILL");
    await exited(home.server.child);
    await startEverything(t, "streamableHttp", home.server.port);
    assert.equal(textOf(await client.callTool("echo", { message: "after" })), "Echo: after");
    assert.equal(client.received.filter((m) => m.id === init.id).length, 1, "the client's initialize answered once");
    assert.ok(
      !client.received.some((m) => typeof m.id === "string" && m.id.startsWith("mcp-proxy-")),
      "the replayed initialize's answer stays hidden",
    );
  });

  test("a session that comes before the server waits for it; one it never answers is told where nothing answers", async (t) => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/mcp`;
    const home = configuredHome(t, {
      far: { url, startTimeoutMs: 20_000 },
      nowhere: { url: `http://127.0.0.1:${await freePort()}/mcp`, startTimeoutMs: 500 },
    });

    const early = new ProxyClient(t, ["--target", "far"], { env: home.env });
    const answered = early.initialize();
    await until(
      async () =>
        /far: relay to \S+ \(not reached yet\) serves shared: 1 session/.test((await runManagerCli(["status"], { env: home.env })).stdout),
      "the session to be in the daemon, waiting for a server not yet there",
      undefined,
      200, // each look runs the CLI
    );
    await startEverything(t, "streamableHttp", port);
    assert.equal((await answered).result.serverInfo.name, "mcp-servers/everything");

    const late = new ProxyClient(t, ["--target", "nowhere"], { env: home.env });
    const refused = await late.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.ok(refused.error, "initialize fails");
    assert.match(refused.error.message, /nothing answers at http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(late.child.exitCode, null, "the proxy stays, to try again at the next message");
  });

  test("a server that takes connections and never answers: a session that ends takes its connections with it", async (t) => {
    const open = new Set<Socket>();
    let posted = 0;
    const hung = createServer((socket) => {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      // Reads each request, answers nothing.
      socket.on("data", (chunk: Buffer) => {
        if (chunk.toString("latin1").startsWith("POST ")) posted += 1;
      });
    });
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of open) socket.destroy();
      hung.close();
    });
    const { port } = hung.address() as AddressInfo;
    const home = configuredHome(t, { hung: { url: `http://127.0.0.1:${port}/mcp` } });
    const client = new ProxyClient(t, ["--target", "hung"], { env: home.env });
    void client
      .request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } })
      .catch(() => {});
    await until(() => posted > 0, "the session's initialize to reach the hung server");
    const daemonPid = home.lockedPid("hung")!;

    client.child.kill("SIGTERM"); // the session ends with its initialize still unanswered
    await exited(client.child);
    await until(() => open.size === 0, "the daemon to close the ended session's connections to the hung server");
    assert.ok(isAlive(daemonPid), "the daemon runs on for other sessions");
  });

  test("status, doctor, stop and start act on the daemon, never on the server", async (t) => {
    const home = await remoteHome(t);
    const cli = (...args: string[]) => runManagerCli(args, { env: home.env });
    const client = new ProxyClient(t, ["--target", "far"], { env: home.env });
    await client.initialize();
    const daemonPid = home.lockedPid("far")!;

    const status = await cli("status");
    assert.match(status.stdout, /far\s+running; remote answering\s+\d+/);
    assert.match(
      status.stdout,
      new RegExp(`far: relay to ${home.server.url.replace(/[.]/g, "\\.")} \\(answering\\) serves shared: 1 session`),
    );
    const doctor = await cli("doctor");
    assert.match(doctor.stdout, /ok\s+far: remote http:\S+ answers/);
    assert.match(doctor.stdout, /ok\s+far: daemon running/);

    client.child.stdin!.end(); // a live proxy would start the daemon again at once
    await exited(client.child);
    const stopped = await cli("stop", "far");
    assert.equal(stopped.code, 0, stopped.stderr);
    await until(() => !isAlive(daemonPid), "the daemon to stop");
    assert.ok(isAlive(home.server.child.pid!), "the remote server runs on: it is not ours to stop");
    assert.match((await cli("status")).stdout, /far\s+stopped \(by mcp-manager stop\); remote answering/);

    const started = await cli("start", "far");
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /far: running \(pid \d+, http:\S+\); it relays to http:\/\/127\.0\.0\.1:\d+\/mcp/);

    killTree(home.server.child.pid, "SIGKILL");
    await exited(home.server.child);
    assert.match((await cli("status")).stdout, /far\s+running; remote NOT ANSWERING/);
    assert.match((await cli("doctor")).stdout, /warn\s+far: remote http:\S+ does not answer/);
    const startedWithout = await cli("start", "far");
    assert.equal(startedWithout.code, 0, startedWithout.stderr);
    assert.match(startedWithout.stdout, /far: http:\/\/127\.0\.0\.1:\d+\/mcp does not take connections now/);
  });
});
