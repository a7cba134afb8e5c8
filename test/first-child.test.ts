import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { until } from "./helpers/bounded.js";
import { configuredHome, probeServer, processGroupOf } from "./helpers/daemon-home.js";
import { runManagerCli } from "./helpers/manager.js";
import { isAlive, killTree, processesOfHome } from "./helpers/processes.js";
import { ProxyClient } from "./helpers/proxy-client.js";
import { tempDir } from "./helpers/temp-dir.js";

const logOf = (home: string, name: string) => {
  try {
    return readFileSync(join(home, `${name}.log`), "utf8");
  } catch {
    return "";
  }
};

/** The pid of the server process the proxy said it started ahead of the daemon. */
function firstProcessLogged(home: string, name: string): number {
  const pid = /started the server's first process \(pid (\d+)\) ahead of its daemon/.exec(logOf(home, name))?.[1];
  assert.ok(pid, `the proxy started the server's first process:\n${logOf(home, name)}`);
  return Number(pid);
}

const PARAMS = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } };

const parentOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
};

async function childStats(proxy: ProxyClient): Promise<{ pid: number; cwd: string }> {
  const answer = await proxy.callTool("stats");
  return JSON.parse(answer.result.content[0].text) as { pid: number; cwd: string };
}

describe("the first server process of a daemon a proxy starts", () => {
  test("is spawned by the proxy ahead of the daemon, taken by the daemon, and stopped with it", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const project = tempDir(t);
    const session = { CLAUDE_PROJECT_DIR: project, PWD: project, OLDPWD: project, CLAUDE_CODE_SESSION_ID: "s1" };
    const proxy = new ProxyClient(t, ["--target", "probe"], { env: { ...daemon.env, ...session }, cwd: project });
    await proxy.initialize();
    const { pid, cwd } = await childStats(proxy);
    daemon.track(pid);
    assert.equal(cwd, homedir(), "a shared server runs in the home directory, not the first session's project");
    const environment = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    assert.deepEqual(
      environment.filter((variable) => variable.includes(project) || variable.startsWith("CLAUDE_CODE_SESSION_ID=")),
      [],
      "nothing of the first session's in a shared server's environment",
    );
    assert.equal(parentOf(pid), proxy.child.pid, "the proxy spawned it");
    assert.equal(processGroupOf(pid).pgid, pid, "in a process group of its own, like the daemon's children");
    assert.match(
      readFileSync(join(daemon.home, "probe.log"), "utf8"),
      new RegExp(`took child pid ${pid}, started ahead by this daemon's starter`),
    );

    await runManagerCli(["stop", "probe"], { env: daemon.env });
    await until(() => !isAlive(pid), "the taken child to be stopped with its daemon");
  });

  test("killed, it is noticed although it is not the daemon's child, and the next call gets a child of the daemon", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const proxy = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await proxy.initialize();
    const first = await childStats(proxy);
    killTree(first.pid, "SIGKILL");
    await until(
      () => readFileSync(join(daemon.home, "probe.log"), "utf8").includes("exit status went to the process that started it"),
      "the daemon to notice the exit",
    );
    const second = await childStats(proxy);
    daemon.track(second.pid);
    assert.notEqual(second.pid, first.pid);
    assert.equal(parentOf(second.pid), daemon.lockedPid("probe"), "the daemon spawned the next one");
  });

  test("a daemon that dies at start-up leaves no server behind: the proxy stops the one it spawned for it", async (t) => {
    // The daemon (Node) cannot start with this; the server (a shell) can, and would run on if nobody stopped it.
    const daemon = configuredHome(t, {
      sleeper: { command: "/bin/sh", args: ["-c", "sleep 60"], env: { NODE_OPTIONS: "--require=/no/such/module.js" } },
    });
    const proxy = new ProxyClient(t, ["--target", "sleeper"], { env: daemon.env });
    const answer = await proxy.request("initialize", PARAMS);
    assert.match(answer.error.message, /exited during start-up/);
    const pid = firstProcessLogged(daemon.home, "sleeper");
    daemon.track(pid);
    await until(() => !isAlive(pid), "the server spawned for the daemon to be stopped");
    const proxyPid = new Set([proxy.child.pid!]);
    await until(() => processesOfHome(daemon.home, proxyPid).length === 0, "no process of the home but the proxy");

    // Each failed start hands a process over and records it ahead; what is gone is not kept in the record.
    const again = await proxy.request("tools/list", {});
    assert.match(again.error.message, /exited during start-up/);
    const recorded = (JSON.parse(readFileSync(join(daemon.home, "sleeper.children"), "utf8")) as Array<{ pid: number }>).map(
      (child) => child.pid,
    );
    assert.ok(!recorded.includes(pid), `the stopped first process is no longer recorded: ${JSON.stringify(recorded)}`);
    assert.ok(recorded.length <= 1, `only the latest start's process may be recorded: ${JSON.stringify(recorded)}`);
  });

  test("a proxy ended while its daemon is still starting stops the server it spawned for it", async (t) => {
    // A server that ignores SIGTERM and the end of its input, and a daemon that cannot start.
    const daemon = configuredHome(t, {
      sleeper: { command: "/bin/sh", args: ["-c", "trap '' TERM; exec sleep 1234"], env: { NODE_OPTIONS: "--require=/no/such/module.js" } },
    });
    const proxy = new ProxyClient(t, ["--target", "sleeper"], { env: daemon.env });
    proxy.request("initialize", PARAMS).catch(() => {}); // never answered: the proxy is ended first
    await until(() => /started the server's first process/.test(logOf(daemon.home, "sleeper")), "the proxy to start the first process");
    const pid = firstProcessLogged(daemon.home, "sleeper");
    daemon.track(pid);
    proxy.child.kill("SIGTERM");
    await until(() => !isAlive(pid), "the server spawned for the daemon to be stopped");
  });
});
