import assert from "node:assert/strict";
import { onCleanup } from "../helpers/cleanup.js";
import { execFile } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { promisify } from "node:util";
import { configuredHome, probeServer, type DaemonHome } from "../helpers/daemon-home.js";
import { until } from "../helpers/bounded.js";
import { runManagerCli, startManager } from "../helpers/manager.js";
import { MANAGER } from "../helpers/paths.js";
import { freePort, isAlive, spawnTracked, waitForOutput } from "../helpers/processes.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";
import { tempDir } from "../helpers/temp-dir.js";

/** Runs mcp-manager with the home's config. */
const manager = (daemon: DaemonHome, ...args: string[]) =>
  runManagerCli(["--config", join(daemon.home, "config.json"), ...args], { env: daemon.env });

async function managedHome(t: TestContext, servers: Record<string, unknown>) {
  const port = await freePort();
  return configuredHome(t, servers, { manager: { port } });
}

describe("mcp-manager commands", () => {
  test("without a manager: start, status, stop (respected by proxies), start again, restart", async (t) => {
    const daemon = await managedHome(t, { probe: probeServer() });
    const started = await manager(daemon, "start", "probe");
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^probe: running \(pid \d+, http:\/\/127\.0\.0\.1:\d+\/mcp\)/);
    const pid = daemon.lockedPid("probe")!;

    const status = await manager(daemon, "status");
    assert.match(status.stdout, /manager: not running/);
    assert.match(status.stdout, /SERVER\s+STATE\s+PID\s+PORT\s+TRANSPORT\s+UPTIME\s+RESTARTS\s+SESSIONS/);
    assert.match(status.stdout, new RegExp(`probe\\s+running\\s+${pid}\\s+\\d+\\s+stdio\\s+\\d+s\\s+0\\s+0`));

    const stopped = await manager(daemon, "stop", "probe");
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(!isAlive(pid));
    const client = new ProxyClient(t, ["--config", join(daemon.home, "config.json"), "--target", "probe"], { env: daemon.env });
    const refused = await client.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.match(refused.error?.message ?? "", /stopped on purpose .*mcp-manager start probe/);
    assert.match((await manager(daemon, "status")).stdout, /probe\s+stopped \(by mcp-manager stop\)/);

    assert.equal((await manager(daemon, "start", "probe")).code, 0);
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "again" })), "again");
    const before = daemon.lockedPid("probe")!;
    const restarted = await manager(daemon, "restart", "probe");
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(restarted.stdout, /probe: restarted/);
    assert.notEqual(daemon.lockedPid("probe"), before);
    assert.ok(!isAlive(before));
  });

  test("start --detach runs the manager in the background; status --json reads it; stop --manager ends it", async (t) => {
    const daemon = await managedHome(t, { probe: probeServer() });
    const detached = await manager(daemon, "start", "--detach", "--start-all");
    assert.equal(detached.code, 0, detached.stderr);
    const managerPid = Number(/pid (\d+)/.exec(detached.stdout)![1]);
    onCleanup(t, () => {
      if (isAlive(managerPid)) process.kill(managerPid, "SIGKILL");
    });
    const json = JSON.parse((await manager(daemon, "status", "--json")).stdout);
    assert.equal(json.manager.pid, managerPid);
    // --start-all runs after the API answers: ask the manager itself until it reports the daemon.
    await until(() => Boolean(daemon.lockedUrl("probe")), "the manager to start the daemon");
    let report = json.daemons[0];
    while (report.state !== "running") report = JSON.parse((await manager(daemon, "status", "--json")).stdout).daemons[0];
    assert.deepEqual(
      Object.keys(report)
        .filter((key) => ["state", "pid", "port", "transport", "uptimeMs", "restarts", "sessions"].includes(key))
        .sort(),
      ["pid", "port", "restarts", "sessions", "state", "transport", "uptimeMs"],
    );
    const again = await manager(daemon, "start", "--detach");
    assert.match(again.stdout, new RegExp(`the manager already runs \\(pid ${managerPid}`));

    const stopped = await manager(daemon, "stop", "--manager");
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(!isAlive(managerPid));
    assert.ok(!isAlive(report.pid), "the daemon it started went with it");
    assert.match(stopped.stdout, /manager stopped \(pid \d+\); no daemon runs now/);
    assert.match((await manager(daemon, "status")).stdout, /manager: not running/);
  });

  test("npm start's command: the manager in the foreground with every daemon, then where it listens and how to connect", async (t) => {
    const daemon = await managedHome(t, { probe: probeServer() });
    const port = JSON.parse(readFileSync(join(daemon.home, "config.json"), "utf8")).manager.port;
    const foreground = spawnTracked(t, process.execPath, [MANAGER, "--config", join(daemon.home, "config.json"), "start", "--start-all"], {
      env: daemon.env,
    });
    const banner = await waitForOutput(foreground.stdout!, (text) => text.includes("claude mcp add"), "the first-run banner");
    assert.match(banner, new RegExp(`mcp-session-manager is running: manager pid ${foreground.pid}, API http://127\\.0\\.0\\.1:${port}`));
    assert.match(banner, new RegExp(`probe\\s+running\\s+${daemon.lockedPid("probe")}`));
    assert.match(banner, /claude mcp add -s user -e MCP_SESSION_MANAGER_HOME=\S+ probe -- \S+node\S* \S+proxy\/index\.js --target probe/);
    // mcp-manager is not on this PATH: the suggested command names node and the script, and runs as printed.
    const suggested = /^ {2}(\S+ \S+manager\/index\.js) install --client claude-code/m.exec(banner);
    assert.ok(suggested, `a runnable install command in:\n${banner}`);
    const [node, script] = suggested[1]!.split(" ");
    const env = { ...daemon.env, HOME: tempDir(t, "msm-user-") };
    const dry = await promisify(execFile)(node!, [script!, "install", "--client", "claude-code", "--dry-run"], { env });
    assert.match(dry.stdout, /claude-code \(user\)/);
    const again = await manager(daemon, "start");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`the manager already runs \\(pid ${foreground.pid}`));
    assert.match(again.stdout, /probe\s+running/);
  });

  test("generate-config prints or writes the mcpServers block with absolute paths", async (t) => {
    const daemon = await managedHome(t, { probe: probeServer(), off: probeServer({ disabled: true }) });
    const printed = JSON.parse((await manager(daemon, "generate-config")).stdout);
    assert.deepEqual(Object.keys(printed.mcpServers), ["probe"], "disabled servers are left out");
    assert.equal(printed.mcpServers.probe.command, process.execPath);
    assert.deepEqual(printed.mcpServers.probe.args.slice(1), ["--target", "probe"], "the home's own config needs no --config");
    assert.deepEqual(
      printed.mcpServers.probe.env,
      { MCP_SESSION_MANAGER_HOME: daemon.home },
      "a home that is not the default is passed on",
    );
    assert.ok(printed.mcpServers.probe.args[0].endsWith("/dist/proxy/index.js"));
    const file = join(daemon.home, "out", "mcp.json");
    const written = await manager(daemon, "generate-config", "--write", file);
    assert.match(written.stdout, /claude --mcp-config /);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), printed);
  });

  test("through a running manager, stop and start go through its API", async (t) => {
    const daemon = await managedHome(t, { probe: probeServer() });
    const running = await startManager(t, daemon, JSON.parse(readFileSync(join(daemon.home, "config.json"), "utf8")).manager.port);
    assert.equal((await manager(daemon, "start", "probe")).code, 0);
    await running.logged(/probe: running \(pid/, "the manager to start it");
    const stopped = await manager(daemon, "stop", "probe");
    assert.equal(stopped.code, 0, stopped.stderr);
    await running.logged(/probe: stopping the daemon/, "the manager to stop it");
    const status = await manager(daemon, "status");
    assert.match(status.stdout, /manager: running/);
    assert.match(status.stdout, /probe\s+stopped \(by mcp-manager stop\)/);
  });

  test("errors are one sentence and a non-zero exit", async (t) => {
    const daemon = await managedHome(t, { probe: probeServer() });
    const unknown = await manager(daemon, "restart", "nope");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^no server named "nope" in .*config\.json \(configured: probe\)\n$/);
    const nothing = await manager(daemon, "stop");
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /name the daemons to stop, or give --all or --manager/);
    const noLog = await manager(daemon, "logs", "probe");
    assert.equal(noLog.code, 1);
    assert.match(noLog.stderr, /no log yet at .*probe\.log/);
  });

  test("logs NAME shows the end of the daemon's log", async (t) => {
    const daemon = await managedHome(t, { probe: probeServer() });
    await manager(daemon, "start", "probe");
    const logs = await manager(daemon, "logs", "probe", "-n", "1");
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout.split("\n").filter(Boolean).length, 1);
    assert.match(logs.stdout, /\[daemon \d+ probe\] listening on http:\/\/127\.0\.0\.1/);
  });

  test("doctor names what is wrong and what to do, and exits 1 on a real problem", async (t) => {
    const port = await freePort();
    const daemon = configuredHome(
      t,
      {
        probe: probeServer(),
        missing: { command: "no-such-command-anywhere", args: [] },
      },
      { manager: { port } },
    );
    writeFileSync(
      join(daemon.home, "probe.lock"),
      JSON.stringify({ name: "probe", pid: 999_999_999, startedBy: 1, startedAt: "2026-01-01T00:00:00Z" }),
    );
    const report = await manager(daemon, "doctor");
    assert.equal(report.code, 1, report.stdout);
    assert.match(report.stdout, /^ok\s+Node\.js /m);
    assert.match(
      report.stdout,
      /FAIL\s+missing: command "no-such-command-anywhere" is not found\n\s+-> install it, or give its absolute path in "command"/,
    );
    assert.match(report.stdout, /note\s+probe: stale lock .*\(pid 999999999 is gone\)\n\s+-> nothing: it is replaced at the next start/);
    assert.match(report.stdout, /note\s+manager not running/);
    assert.match(report.stdout, /1 problem\(s\) to fix\./);

    writeFileSync(join(daemon.home, "config.json"), '{"servers": {"x": {"comand": "typo"}}}');
    const broken = await manager(daemon, "doctor");
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /FAIL\s+config errors? in .*config\.json:/);
  });
});

describe("autostart", () => {
  test("install writes a systemd user unit whose ExecStart really starts the manager; uninstall removes it", async (t) => {
    const daemon = await managedHome(t, { probe: probeServer() });
    const user = tempDir(t, "msm-user-");
    const env: NodeJS.ProcessEnv = { ...daemon.env, HOME: user, PATH: "/usr/bin:/bin" };
    delete env.XDG_CONFIG_HOME;
    const cli = async (...args: string[]) => {
      const result = await runManagerCli(["--config", join(daemon.home, "config.json"), "autostart", ...args], { env });
      assert.equal(result.code, 0, result.stderr);
      return result;
    };
    const dry = await cli("install", "--dry-run");
    assert.match(dry.stdout, /^would write .*mcp-session-manager\.service/);
    const installed = await cli("install");
    const unit = join(user, ".config", "systemd", "user", "mcp-session-manager.service");
    assert.match(installed.stdout, new RegExp(`wrote ${unit.replace(/[.]/g, "\\.")}`));
    const text = readFileSync(unit, "utf8");
    assert.match(text, /^WantedBy=default\.target$/m);
    assert.match(text, /^Restart=on-failure$/m);
    assert.equal((await cli("install")).stdout.split("\n")[0], `unchanged ${unit}`, "a second install changes nothing");

    // Run the unit's command line as systemd would (words unquoted, its Environment applied).
    const words = [...text.match(/^ExecStart=(.*)$/m)![1]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) =>
      match[1]!.replace(/\\(.)/g, "$1"),
    );
    assert.deepEqual(words.slice(2), ["--config", join(daemon.home, "config.json"), "start", "--start-all"]);
    const home = /^Environment="MCP_SESSION_MANAGER_HOME=(.*)"$/m.exec(text)?.[1];
    assert.equal(home, daemon.home);
    const started = spawnTracked(t, words[0]!, words.slice(1), { env: { PATH: "/usr/bin:/bin", MCP_SESSION_MANAGER_HOME: home } });
    await waitForOutput(
      started.stdout!,
      (out) => out.includes("mcp-session-manager is running"),
      "the manager started by the unit's command",
    );

    const removed = await cli("uninstall");
    assert.match(removed.stdout, /^removed /);
    assert.throws(() => statSync(unit));
    assert.match((await cli("uninstall")).stdout, /nothing to remove/);
  });
});
