import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { until, within } from "../helpers/bounded.js";
import { configuredHome, probeServer, type Route } from "../helpers/daemon-home.js";
import { runManagerCli, stopManagerAfter } from "../helpers/manager.js";
import { freePort, isAlive } from "../helpers/processes.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";

const SESSIONS = 10;

async function managedProbe(t: TestContext, entry: Record<string, unknown> = {}, route: Route = "session socket") {
  const port = await freePort();
  const daemon = configuredHome(t, { probe: probeServer(entry) }, { manager: { port } }, { route });
  const config = join(daemon.home, "config.json");
  const cli = (...args: string[]) => runManagerCli(["--config", config, ...args], { env: daemon.env });
  stopManagerAfter(t, daemon);
  const started = await cli("start", "--detach", "--start-all");
  assert.equal(started.code, 0, started.stderr);
  const session = async (capabilities: Record<string, unknown> = {}) => {
    const client = new ProxyClient(t, ["--config", config, "--target", "probe"], { env: daemon.env });
    await client.initialize(capabilities);
    return client;
  };
  return { daemon, cli, session };
}

describe("graceful restart", () => {
  test("10 sessions calling without pause lose no call across two restarts; the old daemons drain and exit by themselves", async (t) => {
    const { daemon, cli, session } = await managedProbe(t);
    const clients = await Promise.all(Array.from({ length: SESSIONS }, () => session()));
    let running = true;
    const counts = { calls: 0, errors: [] as string[] };
    const loops = clients.map(async (client, index) => {
      for (let i = 0; running; i++) {
        const message = `${index}/${i}`;
        const answer = await client.request("tools/call", { name: "echo", arguments: { message } });
        counts.calls += 1;
        if (answer.error || textOf(answer) !== message) counts.errors.push(JSON.stringify(answer));
      }
    });
    // A call longer than the handover, under way while it happens: it finishes on the old daemon.
    const slow = clients[0]!.request("tools/call", { name: "sleep", arguments: { ms: 1500 } });

    const replaced: number[] = [];
    for (let restart = 0; restart < 2; restart++) {
      const before = counts.calls;
      await until(() => counts.calls >= before + 200, "200 more calls before the restart");
      const old = daemon.lockedPid("probe")!;
      const restarted = await cli("restart", "probe");
      assert.equal(restarted.code, 0, restarted.stderr);
      await until(() => Boolean(daemon.lockedPid("probe") && daemon.lockedPid("probe") !== old), "the new daemon's lock");
      replaced.push(old);
      const after = counts.calls;
      await until(() => counts.calls >= after + 200, "200 calls on the new daemon");
    }
    running = false;
    await within(Promise.all(loops), "the calling sessions to finish their last call");
    const slowAnswer = await within(slow, "the slow call");
    assert.match(textOf(slowAnswer), new RegExp(`^slept 1500 ms in pid \\d+$`), "the call under way when the restart came was answered");
    assert.deepEqual(counts.errors, [], `no errors in ${counts.calls} calls`);
    for (const pid of replaced) await until(() => !isAlive(pid), `the drained daemon ${pid} to exit by itself`);
    const status = JSON.parse((await cli("status", "--json")).stdout);
    const probe = status.daemons.find((report: { name: string }) => report.name === "probe");
    assert.equal(probe.sessions, SESSIONS, "every session moved to the new daemon");
    assert.equal(probe.restartLog.filter((event: { reason: string }) => event.reason === "restarted by mcp-manager restart").length, 2);
  });

  test("a call still running at the drain timeout gets an error that says so; the session goes on with the new daemon", async (t) => {
    const { daemon, cli, session } = await managedProbe(t, { drainTimeoutMs: 1000 });
    const client = await session();
    const old = daemon.lockedPid("probe")!;
    const waiting = client.request("tools/call", { name: "wait_for_cancel", arguments: {} });
    await until(async () => /wait_for_cancel/.test(textOf(await client.callTool("stats"))), "the long call to run");
    assert.equal((await cli("restart", "probe")).code, 0);
    const answer = await within(waiting, "the long call's answer");
    assert.match(
      answer.error?.message ?? "",
      /was replaced \(restarted by mcp-manager restart\) and this call was still running after the drain timeout \(drainTimeoutMs: 1000 ms\)/,
    );
    assert.equal(textOf(await client.callTool("echo", { message: "still here" })), "still here");
    await until(() => !isAlive(old), "the drained daemon to exit");
  });

  test("over HTTP (no Unix sockets): calls go on, and a server request answered after the drain began reaches the old daemon", async (t) => {
    const { daemon, cli, session } = await managedProbe(t, {}, "HTTP");
    // The one that is asked declares sampling, the others do not: a child of its own, so that its server's
    // request is tied to it alone (a request on a child several sessions call at once would be refused).
    const clients = await Promise.all([session({ sampling: {} }), ...Array.from({ length: 4 }, () => session())]);
    let running = true;
    let calls = 0;
    const errors: string[] = [];
    const loops = clients.slice(1).map(async (client, index) => {
      for (let i = 0; running; i++) {
        const message = `${index}/${i}`;
        const answer = await client.callTool("echo", { message });
        calls += 1;
        if (textOf(answer) !== message) errors.push(JSON.stringify(answer));
      }
    });
    const asker = clients[0];
    const asked = asker.waitFor((m) => m.method === "sampling/createMessage", "the server's sampling request");
    const call = asker.request("tools/call", { name: "ask_sampling", arguments: { prompt: "late" } });
    const request = await within(asked, "the sampling request");
    const old = daemon.lockedPid("probe")!;
    assert.equal((await cli("restart", "probe")).code, 0);
    await until(() => Boolean(daemon.lockedPid("probe") && daemon.lockedPid("probe") !== old), "the new daemon");
    const before = calls;
    await until(() => calls >= before + 100, "100 calls on the new daemon");
    asker.send({
      jsonrpc: "2.0",
      id: request.id,
      result: { role: "assistant", content: { type: "text", text: "answered late" }, model: "m" },
    });
    assert.equal(textOf(await within(call, "the call that asked")), "answered late", "the answer reached the daemon that asked");
    running = false;
    await within(Promise.all(loops), "the sessions' last calls");
    assert.deepEqual(errors, [], `no errors in ${calls} calls`);
    await until(() => !isAlive(old), "the drained daemon to exit");
  });

  test("restarts asked at once run one after the other: both succeed, calls go on, one daemon is left", async (t) => {
    const { daemon, cli, session } = await managedProbe(t);
    const client = await session();
    let running = true;
    const errors: string[] = [];
    const loop = (async () => {
      for (let i = 0; running; i++) {
        const answer = await client.callTool("echo", { message: `${i}` });
        if (textOf(answer) !== `${i}`) errors.push(JSON.stringify(answer));
      }
    })();
    const first = daemon.lockedPid("probe")!;
    const results = await Promise.all([cli("restart", "probe"), cli("restart", "probe"), cli("restart", "probe")]);
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const last = daemon.lockedPid("probe")!;
    assert.notEqual(last, first);
    running = false;
    await within(loop, "the last call");
    assert.deepEqual(errors, []);
    const status = JSON.parse((await cli("status", "--json")).stdout);
    const probe = status.daemons.find((report: { name: string }) => report.name === "probe");
    assert.equal(probe.pid, last, "the manager supervises the last one it started");
    assert.equal(probe.state, "running");
    await until(() => !isAlive(first), "the first daemon to drain and exit");
  });
});
