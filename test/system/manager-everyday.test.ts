import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, test, type TestContext } from "node:test";
import { until, within } from "../helpers/bounded.js";
import { configuredHome, probeServer } from "../helpers/daemon-home.js";
import { runManagerCli, stopManagerAfter, type CliResult } from "../helpers/manager.js";
import { PROBE_SERVER, MANAGER } from "../helpers/paths.js";
import { freePort, isAlive, spawnTracked, waitForOutput } from "../helpers/processes.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";
import { tempDir } from "../helpers/temp-dir.js";

const PROBE = PROBE_SERVER;

/** A home on a free manager port, its CLI run with the home's config. */
async function home(t: TestContext, servers: Record<string, unknown> = {}) {
  const daemon = configuredHome(t, servers, { manager: { port: await freePort() } });
  const config = join(daemon.home, "config.json");
  const cli = (...args: string[]): Promise<CliResult> => runManagerCli(["--config", config, ...args], { env: daemon.env });
  return { daemon, config, cli };
}

describe("the server list without editing JSON", () => {
  test("add, list and remove keep the file's comments; what add prints connects; remove stops the daemon first", async (t) => {
    const { daemon, config, cli } = await home(t);
    writeFileSync(config, `{\n  // my servers\n  "servers": {}\n}\n`);

    const added = await cli("add", "notes", "--scope", "project", "--env", "LEVEL=2", "--", process.execPath, PROBE, "--quiet");
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, new RegExp(`added "notes" to ${config}: ${process.execPath} ${PROBE} --quiet`));
    assert.match(added.stdout, /claude mcp add -s user -e MCP_SESSION_MANAGER_HOME=\S+ notes -- \S+ \S+proxy\/index\.js --target notes/);
    const text = readFileSync(config, "utf8");
    assert.match(text, /\/\/ my servers/, "comments stay");
    assert.deepEqual(JSON.parse(text.replace(/\/\/.*\n/, "\n")).servers.notes, {
      command: process.execPath,
      args: [PROBE, "--quiet"],
      scope: "project",
      env: { LEVEL: "2" },
    });

    assert.match(
      (await cli("add", "ghost", "--", "node", "/missing/script.js")).stdout,
      /note: node would run \/missing\/script\.js, which does not exist/,
    );
    assert.equal((await cli("remove", "ghost")).code, 0);
    const remote = await cli("add", "remote", "--url", "https://ann:secret@mcp.example.test/mcp?key=k", "--transport", "sse");
    assert.equal(remote.code, 0, remote.stderr);
    assert.match(remote.stdout, /added "remote" to .*: https:\/\/mcp\.example\.test\/mcp\?\.\.\.\n/, "shown without its secrets");
    assert.doesNotMatch(remote.stdout, /secret|key=k/);
    assert.deepEqual(JSON.parse(readFileSync(config, "utf8").replace(/\/\/.*\n/, "\n")).servers.remote, {
      url: "https://ann:secret@mcp.example.test/mcp?key=k",
      transport: "sse",
    });
    assert.equal((await cli("remove", "remote")).code, 0);
    const listed = await cli("list");
    assert.match(listed.stdout, /SERVER\s+KIND\s+SCOPE\s+PORT\s+COMMAND OR URL/);
    assert.match(listed.stdout, new RegExp(`notes\\s+stdio\\s+project\\s+-\\s+${process.execPath} ${PROBE} --quiet`));

    for (const [args, error] of [
      [["add", "notes", "--", "x"], /"notes" is already configured/],
      [["add", "bad name", "--", "x"], /"bad name" cannot be a server name/],
      [["add", "web", "--transport", "sse", "--", "x"], /needs --port/],
      [["add", "web", "--port", "4000", "--", "x"], /--port is for a server that speaks HTTP/],
      [["add", "empty"], /give the server's command after --/],
      [["add", "web", "--url", "127.0.0.1:4000/mcp"], /--url 127\.0\.0\.1:4000\/mcp is not an http\(s\) URL/],
      [["add", "web", "--url", "http://127.0.0.1:4000/mcp", "--", "x"], /give --url or a command after --, not both/],
      [["add", "web", "--url", "http://127.0.0.1:4000/mcp", "--port", "4000"], /--port is for a server started here/],
      [["add", "web", "--url", "http://127.0.0.1:4000/mcp", "--transport", "stdio"], /--transport for a server given by --url/],
      [["remove", "nope"], /no server named "nope"/],
      [["install", "--all"], /install takes --client; --all is for uninstall/],
      [["uninstall", "--http", "--client", "cursor"], /--http is for install/],
    ] as const) {
      const refused = await cli(...args);
      assert.equal(refused.code, 1, `${args.join(" ")} is refused`);
      assert.match(refused.stderr, error);
    }
    assert.equal(readFileSync(config, "utf8"), text, "refused commands write nothing");

    // The server as added serves sessions; remove stops its daemon before taking it out.
    const client = new ProxyClient(t, ["--config", config, "--target", "notes"], {
      env: { ...daemon.env, CLAUDE_PROJECT_DIR: tempDir(t, "msm-app-") },
    });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "added" })), "added");
    const pid = daemon.lockedPid("notes")!;
    client.child.stdin!.end();
    await within(once(client.child, "exit"), "the proxy to exit once its client closed stdin");
    const removed = await cli("remove", "notes");
    assert.equal(removed.code, 0, removed.stderr);
    assert.ok(!isAlive(pid), "its daemon was stopped");
    assert.deepEqual(JSON.parse(readFileSync(config, "utf8").replace(/\/\/.*\n/, "\n")).servers, {});
    assert.equal(existsSync(join(daemon.home, "notes.stopped")), false, "no stop marker is left for a name that may come back");
  });
});

describe("start, stop, logs and status as the README says", () => {
  test("start --all and stop --all; mcp-manager --start-all --detach; logs lists every log, the manager's included", async (t) => {
    const { daemon, cli } = await home(t, { a: probeServer(), b: probeServer() });
    stopManagerAfter(t, daemon);
    const started = await cli("start", "--all");
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^a: running .*\nb: running /m);
    const stopped = await cli("stop", "--all");
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /^a: stopped .*\nb: stopped /m);

    const detached = await cli("--start-all", "--detach");
    assert.equal(detached.code, 0, detached.stderr);
    assert.match(detached.stdout, /manager running in the background \(pid \d+/);
    // The daemons write their URL into their locks once they listen: cheaper to watch than a CLI per look.
    await until(
      () => ["a", "b"].every((name) => daemon.lockedUrl(name) && isAlive(daemon.lockedPid(name)!)),
      "the detached manager to start both daemons",
    );
    assert.match((await cli("status")).stdout, /a\s+running[\s\S]*b\s+running/);

    const logs = await cli("logs");
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /LOG\s+SIZE\s+LAST WRITTEN\s+FILE/);
    for (const name of ["manager", "a", "b"]) assert.match(logs.stdout, new RegExp(`^${name}\\s+\\d+ KiB\\s+\\d{4}-`, "m"));
    assert.equal((await cli("stop", "--manager")).code, 0);
  });

  test("start --all starts the servers side by side: one that waits for another's start comes up", async (t) => {
    // "first" listens only once "second" has started: started one after the other, in order, it never would.
    const marks = tempDir(t, "msm-start-all-");
    const server = String.raw`const [port, mark, waitFor] = process.argv.slice(1);
      require("node:fs").writeFileSync(mark, "");
      const listen = () => require("node:http").createServer((q, s) => s.end()).listen(Number(port), "127.0.0.1");
      const look = () => (require("node:fs").existsSync(waitFor) ? listen() : setTimeout(look, 20));
      waitFor ? look() : listen();`;
    const http = (port: number, ...marksOf: string[]) => ({
      command: process.execPath,
      args: ["-e", server, String(port), ...marksOf.map((name) => join(marks, name))],
      transport: "streamable-http",
      port,
      startTimeoutMs: 15_000,
    });
    const { cli } = await home(t, { first: http(await freePort(), "first", "second"), second: http(await freePort(), "second") });
    const started = await cli("start", "--all");
    assert.equal(started.code, 0, started.stdout + started.stderr);
    assert.match(started.stdout, /^first: running .*\nsecond: running /m, "results in the config's order");
    assert.equal((await cli("stop", "--all")).code, 0);
  });

  test("a foreground manager writes manager.log; status counts restarts and uptime truly, and lists servers added since the manager started", async (t) => {
    const { daemon, config, cli } = await home(t, { memory: { builtin: "memory", port: await freePort() } });
    stopManagerAfter(t, daemon);
    const foreground = spawnTracked(t, process.execPath, [MANAGER, "--config", config, "start", "--start-all"], { env: daemon.env });
    await waitForOutput(foreground.stdout!, (text) => text.includes("claude mcp add"), "the manager's banner");
    assert.match(readFileSync(join(daemon.home, "manager.log"), "utf8"), /\[manager \d+\] listening on/);

    const memory = JSON.parse((await cli("status", "--json")).stdout).daemons.find((d: { name: string }) => d.name === "memory");
    assert.equal(memory.restarts, 0, "a number, for the in-process memory server too");
    assert.equal(typeof memory.uptimeMs, "number");
    assert.doesNotMatch((await cli("status")).stdout, /NaN|null/);

    assert.equal((await cli("add", "late", "--", process.execPath, PROBE)).code, 0);
    const status = await cli("status");
    assert.match(status.stdout, /^late\s+stopped \(starts on first use\)/m, "a server added after the manager started is listed");
  });

  test("status without a manager: an adopted daemon's uptime is its own, restarts are numbers", async (t) => {
    const { daemon, cli } = await home(t, { probe: probeServer() });
    assert.equal((await cli("start", "probe")).code, 0);
    const report = JSON.parse((await cli("status", "--json")).stdout).daemons[0];
    assert.equal(report.restarts, 0);
    assert.ok(report.uptimeMs >= 0);
    assert.ok(daemon.lockedPid("probe"));
  });
});

describe("when something is broken", () => {
  test("with config.json broken, status, logs, restart and stop --manager still reach what runs", async (t) => {
    const { daemon, config, cli } = await home(t, { probe: probeServer() });
    stopManagerAfter(t, daemon);
    assert.equal((await cli("start", "--detach", "--start-all")).code, 0);
    await until(() => Boolean(daemon.lockedUrl("probe")), "the manager to start probe");
    const managerPid = daemon.lock("manager")!.pid!;
    writeFileSync(config, `{"servers": {"probe": {"command": "node" "args": []}}}`);

    const status = await cli("status");
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, /not valid JSON: a comma is missing at line 1/);
    assert.match(status.stdout, /probe\s+running/, "the manager, keeping the last good config, still reports the daemon");
    const logs = await cli("logs", "probe", "-n", "3");
    assert.equal(logs.code, 0, logs.stderr);
    const restarted = await cli("restart", "probe");
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(restarted.stderr, /not valid JSON: .*\n\(acting on the last good config of that file, as the manager does\)/);
    const stopped = await cli("stop", "--manager");
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(!isAlive(managerPid));
  });

  test("a server that exited and waits to be restarted: start, restart, status and doctor say so", async (t) => {
    const dir = tempDir(t, "msm-flaky-");
    const script = join(dir, "server.js"); // missing: every start of the server fails
    // An HTTP server starts with its daemon, before any session: what a start brings up is known at once.
    // A start is judged within the server's start timeout: a short one keeps the test short.
    const entry = { command: process.execPath, args: [script], transport: "streamable-http", port: await freePort(), startTimeoutMs: 2000 };
    const { daemon, cli } = await home(t, { flaky: entry });
    writeFileSync(
      join(daemon.home, "config.json"),
      JSON.stringify({
        // The first restart is immediate, the second waits a minute: long enough to be seen backing off.
        manager: { port: await freePort(), restartLimit: 3, restartBackoffMs: 60_000 },
        servers: { flaky: entry },
      }),
    );
    const said = /flaky: but its server does not start \(restarted 1 time so far\): .*code 1.*; see: mcp-manager logs flaky/;
    const started = await cli("start", "flaky");
    assert.notEqual(started.code, 0, "a start whose server does not start fails");
    assert.match(started.stdout + started.stderr, said);
    assert.match((await cli("status")).stdout, /flaky\s+restarting \(backing off\)/);
    const doctor = await cli("doctor");
    assert.match(
      doctor.stdout,
      /warn +flaky: the daemon runs \(pid \d+\) but its server exited and waits to be restarted \(restarted 1 time so far\): .*code 1/,
    );
    assert.doesNotMatch(doctor.stdout, /ok +flaky/);

    // A start while it waits to be restarted tries at once, with a new daemon.
    const before = daemon.lockedPid("flaky");
    const again = await cli("start", "flaky");
    assert.match(again.stdout + again.stderr, said);
    assert.notEqual(daemon.lockedPid("flaky"), before, "the daemon was started afresh");

    // Nor is a restart reported as done while the new start fails the same way.
    const restarted = await cli("restart", "flaky");
    assert.notEqual(restarted.code, 0, "a restart whose server does not start fails");
    assert.match(restarted.stdout + restarted.stderr, said);
  });

  test("start after a fix brings back a server that had failed, though its daemon kept running", async (t) => {
    const dir = tempDir(t, "msm-late-");
    const script = join(dir, "server.js");
    const { daemon, cli } = await home(t, { late: { command: process.execPath, args: [script] } });
    writeFileSync(
      join(daemon.home, "config.json"),
      JSON.stringify({
        manager: { port: await freePort(), restartLimit: 0 },
        servers: { late: { command: process.execPath, args: [script] } },
      }),
    );
    const first = new ProxyClient(t, ["--target", "late"], { env: daemon.env });
    const failed = await first.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.ok(failed.error, "the server cannot start: its script is missing");
    await until(async () => /late\s+FAILED/.test((await cli("status")).stdout), "status to show the server failed");
    assert.match((await cli("doctor")).stdout, /FAIL +late: the daemon runs \(pid \d+\) but its server failed/);

    writeFileSync(script, `import ${JSON.stringify(pathToFileURL(PROBE).href)};\n`);
    const before = daemon.lockedPid("late");
    const started = await cli("start", "late");
    assert.equal(started.code, 0, started.stderr);
    assert.notEqual(daemon.lockedPid("late"), before, "the daemon was started afresh");
    assert.doesNotMatch((await cli("status")).stdout, /late\s+FAILED/, "and is no longer reported failed");
    const second = new ProxyClient(t, ["--target", "late"], { env: daemon.env });
    await second.initialize();
    assert.equal(textOf(await second.callTool("echo", { message: "fixed" })), "fixed");
  });
});

describe("doctor names the right problem", () => {
  test("a JSON syntax error is called one, with its line; a script that does not exist fails", async (t) => {
    const { config, cli } = await home(t);
    writeFileSync(
      config,
      `{\n  // comments and trailing commas are fine\n  "servers": {\n    "x": {"command": "node" "args": [],},\n  }\n}\n`,
    );
    const syntax = await cli("doctor");
    assert.equal(syntax.code, 1);
    assert.match(syntax.stdout, /not valid JSON: a comma is missing at line 4, column 29/);
    assert.match(syntax.stdout, /fix the JSON syntax of/);
    assert.doesNotMatch(syntax.stdout, /names the key/);

    writeFileSync(config, JSON.stringify({ servers: { gone: { command: "node", args: ["/missing/script.js"] } } }));
    const missing = await cli("doctor");
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /gone: node would run \/missing\/script\.js, which does not exist/);
  });
});

describe("leaving", () => {
  test("uninstall --all restores every client file, removes autostart, stops the manager and the daemons, and lists the data left", async (t) => {
    const { daemon, config } = await home(t, { probe: probeServer() });
    stopManagerAfter(t, daemon);
    const user = tempDir(t, "msm-user-");
    const env: NodeJS.ProcessEnv = { ...daemon.env, HOME: user, PATH: "/usr/bin:/bin" };
    delete env.XDG_CONFIG_HOME;
    const as = (...args: string[]) => runManagerCli(["--config", config, ...args], { env, cwd: user });
    const entry = JSON.stringify({ command: process.execPath, args: [PROBE] });
    const claude = join(user, ".claude.json");
    const cursor = join(user, ".cursor", "mcp.json");
    writeFileSync(claude, `{"mcpServers": {"probe": ${entry}}}\n`);
    mkdirSync(join(user, ".cursor"));
    writeFileSync(cursor, `{"mcpServers": {"probe": ${entry}}}\n`);
    const [claudeBefore, cursorBefore] = [readFileSync(claude, "utf8"), readFileSync(cursor, "utf8")];
    assert.equal((await as("install", "--client", "claude-code")).code, 0);
    assert.equal((await as("install", "--client", "cursor")).code, 0);
    // One entry the user added by hand, as the README shows: uninstall --all cannot undo it, so it names it.
    mkdirSync(join(user, ".config", "Claude"), { recursive: true });
    writeFileSync(
      join(user, ".config", "Claude", "claude_desktop_config.json"),
      JSON.stringify({ mcpServers: { "by-hand": { command: "mcp-proxy", args: ["--target", "probe"] } } }),
    );
    assert.equal((await as("autostart", "install")).code, 0);
    const unit = join(user, ".config", "systemd", "user", "mcp-session-manager.service");
    assert.ok(existsSync(unit));
    assert.equal((await as("start", "--detach", "--start-all")).code, 0);
    await until(() => Boolean(daemon.lockedPid("probe") && isAlive(daemon.lockedPid("probe")!)), "the manager to start probe");
    const [managerPid, probePid] = [daemon.lock("manager")!.pid!, daemon.lockedPid("probe")!];

    const dry = await as("uninstall", "--all", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.notEqual(readFileSync(claude, "utf8"), claudeBefore, "a dry run restores nothing");
    assert.ok(isAlive(managerPid));

    const left = await as("uninstall", "--all");
    assert.equal(left.code, 0, left.stderr);
    assert.equal(readFileSync(claude, "utf8"), claudeBefore);
    assert.equal(readFileSync(cursor, "utf8"), cursorBefore);
    assert.ok(!existsSync(unit), "autostart removed");
    await until(() => !isAlive(managerPid) && !isAlive(probePid), "the manager and the daemon to be gone");
    assert.match(left.stdout, /Left in place/);
    assert.match(left.stdout, new RegExp(`${daemon.home} .*rm -r`));
    assert.match(left.stdout, /npm uninstall -g mcp-session-manager/);
    assert.match(left.stdout, /Client entries that still launch mcp-proxy \(added by hand.*\n {2}claude-desktop: by-hand /);
    // An entry left behind finds its daemon stopped on purpose, and says how to start it: nothing restarts by itself.
    const probe = new ProxyClient(t, ["--config", config, "--target", "probe"], { env: daemon.env });
    const refused = await probe.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.match(refused.error?.message ?? "", /stopped on purpose .*mcp-manager start probe/);
    assert.ok(!daemon.lockedPid("probe") || !isAlive(daemon.lockedPid("probe")!));
  });
});
