import assert from "node:assert/strict";
import { until, within } from "./helpers/bounded.js";
import { onCleanup } from "./helpers/cleanup.js";
import { once } from "node:events";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { configuredHome, everythingHome, probeServer, processGroupOf } from "./helpers/daemon-home.js";
import { exited, isAlive, killTree } from "./helpers/processes.js";
import { ProxyClient, textOf } from "./helpers/proxy-client.js";
import { startEverything, startFastMcpFixture } from "./helpers/servers.js";

const PARAMS = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } };

describe("mcp-proxy survives what kills ordinary stdio servers", () => {
  test("auto-starts its daemon detached, in its own session and process group", async (t) => {
    const daemon = await everythingHome(t);
    const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
    await client.initialize();
    const pid = daemon.lockedPid();
    assert.ok(pid && isAlive(pid), "the lock file names a live daemon");
    const group = processGroupOf(pid);
    const proxyGroup = processGroupOf(client.child.pid!);
    assert.equal(group.pgid, pid, "the daemon leads its own process group");
    assert.equal(group.sid, pid, "the daemon leads its own session");
    assert.notEqual(group.sid, proxyGroup.sid);
    assert.ok(existsSync(join(daemon.home, "everything.log")), "daemon output goes to <home>/<name>.log");
    assert.equal(statSync(join(daemon.home, "everything.lock")).mode & 0o077, 0, "the lock file is the user's alone");
    assert.equal(statSync(daemon.home).mode & 0o077, 0, "so is the home directory");
  });

  test("SIGINT to the proxy and to its whole process group changes nothing", async (t) => {
    const daemon = await everythingHome(t);
    const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env, detached: true });
    await client.initialize();
    const daemonPid = daemon.lockedPid()!;
    const ignored = () => (client.stderr.match(/SIGINT ignored/g) ?? []).length;
    const ignoredAtLeast = async (count: number) => {
      while (ignored() < count) await within(once(client.child.stderr!, "data"), `the proxy to log ${count} ignored SIGINTs`);
    };

    // One at a time: two pending SIGINTs would merge into one delivery.
    process.kill(client.child.pid!, "SIGINT");
    await ignoredAtLeast(1);
    process.kill(-client.child.pid!, "SIGINT"); // the whole group, as a terminal's Ctrl-C sends it
    await ignoredAtLeast(2);
    assert.equal(textOf(await client.callTool("echo", { message: "still here" })), "Echo: still here");
    assert.equal(client.child.exitCode, null);
    assert.ok(isAlive(daemonPid), "the daemon did not get the group's SIGINT");
    assert.equal(daemon.lockedPid(), daemonPid, "same daemon as before");
  });

  test("daemon killed with SIGKILL: the call in flight gets an error with its id, then the same proxy serves again", async (t) => {
    const daemon = await everythingHome(t);
    const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
    const init = await client.initialize();
    const first = daemon.lockedPid()!;

    const inFlight = client.start("tools/call", {
      name: "trigger-long-running-operation",
      arguments: { duration: 60, steps: 600 },
      _meta: { progressToken: "p" },
    });
    await client.waitFor((m) => m.method === "notifications/progress", "progress of the long call");
    killTree(first, "SIGKILL");

    const failed = await client.responseTo(inFlight);
    assert.equal(failed.error?.code, -32000);
    assert.match(failed.error.message, /lost/);

    const echo = await client.callTool("echo", { message: "after the crash" });
    assert.equal(textOf(echo), "Echo: after the crash");
    const second = daemon.lockedPid()!;
    assert.notEqual(second, first, "a new daemon was started");
    assert.ok(isAlive(second));
    assert.equal(client.received.filter((m) => m.id === init.id).length, 1, "the replayed initialize stays hidden");
    assert.equal(client.child.exitCode, null);
  });

  test("a request sent while the daemon is down is delivered once it is back, without an error", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const client = new ProxyClient(t, ["--url", server.url]);
    await client.initialize();
    killTree(server.child.pid, "SIGKILL");
    await exited(server.child);
    const id = client.start("tools/call", { name: "echo", arguments: { message: "queued" } });
    await startEverything(t, "streamableHttp", server.port);
    const echo = await client.responseTo(id);
    assert.equal(textOf(echo), "Echo: queued", `${JSON.stringify(echo)}\n${client.stderr}`);
  });

  test("stdin closed with a call in flight: the answer is still written, then the proxy exits 0", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const client = new ProxyClient(t, ["--url", server.url]);
    await client.initialize();
    const id = client.start("tools/call", { name: "trigger-long-running-operation", arguments: { duration: 0.4, steps: 2 } });
    client.child.stdin!.end();
    const { code } = await exited(client.child);
    assert.equal(code, 0);
    const answer = client.received.find((m) => m.id === id);
    assert.ok(answer, "the in-flight call was answered before exit");
    assert.match(textOf(answer), /completed/);
  });

  test("SIGTERM: in-flight calls get errors with their ids and the proxy is gone well before SIGKILL would come", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const client = new ProxyClient(t, ["--url", server.url]);
    await client.initialize();
    const id = client.start("tools/call", {
      name: "trigger-long-running-operation",
      arguments: { duration: 60, steps: 600 },
      _meta: { progressToken: 1 },
    });
    await client.waitFor((m) => m.method === "notifications/progress");
    const sent = performance.now();
    client.child.kill("SIGTERM");
    const { code } = await exited(client.child);
    const elapsed = performance.now() - sent;
    assert.equal(code, 0);
    // Claude Code sends SIGKILL 400 ms after SIGTERM: the proxy must have finished by then.
    assert.ok(elapsed < 400, `exited ${elapsed.toFixed(0)} ms after SIGTERM`);
    const answer = client.received.find((m) => m.id === id);
    assert.equal(answer?.error?.code, -32000);
  });
});

describe("mcp-proxy tells clearly why a daemon is unavailable, and recovers once it is", () => {
  test("a foreign process on the configured port is reported, not used", async (t) => {
    const stranger = await startFastMcpFixture(t);
    const daemon = await everythingHome(t, {
      squatted: {
        command: process.execPath,
        args: ["-e", "setInterval(() => {}, 1000)"],
        transport: "streamable-http",
        port: stranger.port,
      },
    });
    const client = new ProxyClient(t, ["--target", "squatted"], { env: daemon.env });
    const init = await client.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.equal(init.error?.code, -32000);
    assert.match(
      init.error.message,
      new RegExp(
        `port ${stranger.port} is in use by pid ${stranger.child.pid} \\(.*fastmcp-sse-server.js\\) of user \\S+, which is not a server this home's "squatted" daemon started`,
      ),
    );
    assert.equal(daemon.lockedPid("squatted"), undefined, "nothing was started");
    assert.equal(client.child.exitCode, null);
  });

  test("an HTTP server that dies at start-up: a quick error with its last words, naming the log file", async (t) => {
    const daemon = await everythingHome(t, {
      // Port 1 never answers here; the server exits before anyone would look.
      broken: {
        command: process.execPath,
        args: ["-e", "console.error('boom: cannot open database'); process.exit(3)"],
        transport: "streamable-http",
        port: 1,
      },
    });
    const client = new ProxyClient(t, ["--target", "broken"], { env: daemon.env });
    const init = await client.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.equal(init.error?.code, -32000);
    assert.match(init.error.message, /exited with code 3 during start-up/);
    assert.match(init.error.message, /broken\.log/);
    assert.match(init.error.message, /boom: cannot open database/);
  });

  test("a broken config file is named in the error, and fixing it needs no client restart", async (t) => {
    const daemon = await everythingHome(t);
    const configFile = join(daemon.home, "config.json");
    const good = readFileSync(configFile, "utf8");
    writeFileSync(configFile, good.replace(/"port": (\d+)/, '"port": "$1"'));
    const client = new ProxyClient(t, ["--target", "everything"], { env: daemon.env });
    const params = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } };
    const broken = await client.request("initialize", params);
    assert.match(
      broken.error.message,
      new RegExp(`config error in ${configFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: servers\\.everything\\.port: `),
    );
    writeFileSync(configFile, good);
    const fixed = await client.request("initialize", params);
    assert.equal(fixed.result?.serverInfo?.name, "mcp-servers/everything");
  });
});

describe("mcp-proxy and the config its running daemon checked", () => {
  test("an edited config is checked again before a running daemon is used: a server disabled there is refused", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const configFile = join(daemon.home, "config.json");
    const original = readFileSync(configFile, "utf8");
    await new ProxyClient(t, ["--target", "probe"], { env: daemon.env }).initialize();
    const pid = daemon.lockedPid("probe");

    writeFileSync(configFile, JSON.stringify({ servers: { probe: probeServer({ disabled: true }) } }));
    const refused = await new ProxyClient(t, ["--target", "probe"], { env: daemon.env }).request("initialize", PARAMS);
    assert.match(refused.error.message, /"probe" is disabled in the config/);

    writeFileSync(configFile, `${original}\n\n`); // another text, the same servers
    assert.equal((await new ProxyClient(t, ["--target", "probe"], { env: daemon.env }).initialize()).result.serverInfo.name, "stdio-probe");
    writeFileSync(configFile, original);
    assert.equal((await new ProxyClient(t, ["--target", "probe"], { env: daemon.env }).initialize()).result.serverInfo.name, "stdio-probe");
    assert.equal(daemon.lockedPid("probe"), pid, "the same daemon served every session");
  });

  test("a session that joined on the config its daemon checked keeps that entry while the file is broken", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const configFile = join(daemon.home, "config.json");
    await new ProxyClient(t, ["--target", "probe"], { env: daemon.env }).initialize();
    const joined = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await joined.initialize();
    const first = daemon.lockedPid("probe")!;

    writeFileSync(configFile, "{ half-saved");
    killTree(first, "SIGKILL");
    // The session reconnects at once (it was initialized): to a new daemon, started from the entry it had.
    await until(() => {
      const pid = daemon.lockedPid("probe");
      return pid !== undefined && pid !== first && isAlive(pid) && daemon.lock("probe")?.sessionSocket !== undefined;
    }, "a new daemon started by the joined session");
    const answer = await joined.callTool("echo", { message: "still here" });
    assert.equal(answer.result?.content?.[0]?.text, "still here", JSON.stringify(answer));
    assert.match(joined.stderr, /is not valid JSON: .*; this session keeps the entry it had/);
  });

  test("a new session while the file is broken starts on its last good config, and so does its daemon; a file never good here is refused", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const configFile = join(daemon.home, "config.json");
    await new ProxyClient(t, ["--target", "probe"], { env: daemon.env }).initialize();
    const first = daemon.lockedPid("probe")!;
    killTree(first, "SIGKILL");
    await until(() => !isAlive(first), "the first daemon to be gone");

    writeFileSync(configFile, "{ half-saved");
    const late = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    assert.equal((await late.initialize()).result.serverInfo.name, "stdio-probe");
    assert.equal((await late.callTool("echo", { message: "on the last good" })).result?.content?.[0]?.text, "on the last good");
    assert.match(late.stderr, /is not valid JSON: .*; this session starts on the last good config of that file/);
    assert.notEqual(daemon.lockedPid("probe"), first, "a new daemon, started on that entry");

    const other = join(daemon.home, "other.json");
    writeFileSync(other, "{ never good");
    const refused = await new ProxyClient(t, ["--config", other, "--target", "probe"], { env: daemon.env }).request("initialize", PARAMS);
    assert.match(refused.error.message, /other\.json is not valid JSON/);
  });
});

describe("mcp-proxy when its client goes away uncleanly", () => {
  test("a closed stderr (its reader died) neither stops nor spins the proxy", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const client = new ProxyClient(t, ["--url", server.url]);
    client.child.stderr!.destroy(); // every log line from now on meets a broken pipe
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "no stderr" })), "Echo: no stderr");
    client.child.stdin!.end();
    assert.equal((await exited(client.child)).code, 0, "it still sees stdin end and exits");
  });

  test("the process that launched it is killed while its stdin stays open elsewhere: the proxy exits", async (t) => {
    const { spawnTracked, waitForOutput } = await import("./helpers/processes.js");
    const { PROXY } = await import("./helpers/paths.js");
    // The launcher hands its own stdin (whose write end this test keeps) to the proxy, as a shell would.
    const launcher = spawnTracked(t, process.execPath, [
      "-e",
      `const c = require("node:child_process").spawn(process.execPath, [${JSON.stringify(PROXY)}, "--url", "http://127.0.0.1:1/mcp"], { stdio: ["inherit", "ignore", "ignore"] });
       console.log(c.pid); setInterval(() => {}, 1000);`,
    ]);
    const proxyPid = Number((await waitForOutput(launcher.stdout!, (text) => /\d+\n/.test(text), "the proxy pid")).trim());
    onCleanup(t, () => killTree(proxyPid));
    launcher.kill("SIGKILL");
    await until(() => !isAlive(proxyPid), "the orphaned proxy to exit");
    assert.ok(!isAlive(proxyPid));
  });
});
