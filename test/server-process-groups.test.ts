import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { until } from "./helpers/bounded.js";
import { configuredHome, type DaemonHome } from "./helpers/daemon-home.js";
import { PROBE_SERVER } from "./helpers/paths.js";
import { isAlive, killTree } from "./helpers/processes.js";
import { ProxyClient } from "./helpers/proxy-client.js";
import { tempDir } from "./helpers/temp-dir.js";

/**
 * A session with a server that starts a helper of its own in its process group (as a browser or a language server
 * would be), then becomes the probe server. Its daemon, the server and the helper, all tracked for cleanup.
 */
async function sessionWithHelper(t: TestContext): Promise<{ daemon: DaemonHome; proxy: ProxyClient; server: number; helper: number }> {
  const helperFile = join(tempDir(t), "helper.pid");
  const script = `sleep 4321 & echo $! > ${helperFile}; exec ${process.execPath} ${PROBE_SERVER}`;
  const daemon = configuredHome(t, { helped: { command: "/bin/sh", args: ["-c", script] } });
  const proxy = new ProxyClient(t, ["--target", "helped"], { env: daemon.env });
  await proxy.initialize();
  const server = await serverPid(proxy);
  daemon.track(server);
  await until(() => existsSync(helperFile) && readFileSync(helperFile, "utf8").trim() !== "", "the server to start its helper");
  const helper = Number(readFileSync(helperFile, "utf8"));
  daemon.track(helper);
  return { daemon, proxy, server, helper };
}

async function serverPid(proxy: ProxyClient): Promise<number> {
  const answer = await proxy.callTool("stats");
  return (JSON.parse(answer.result.content[0].text) as { pid: number }).pid;
}

describe("what a server starts in its process group ends with it", () => {
  test("a server that exits leaves no helper running: the daemon ends what its group still holds", async (t) => {
    const { proxy, server, helper } = await sessionWithHelper(t);
    assert.ok(isAlive(helper));
    await proxy.callTool("crash").catch(() => {}); // the server exits at once
    await until(() => !isAlive(server), "the server to exit");
    await until(() => !isAlive(helper), "the helper the server left in its group to be stopped");
  });

  test("a server gone with its killed daemon leaves no helper running: the next daemon ends its group", async (t) => {
    const { daemon, proxy, server, helper } = await sessionWithHelper(t);
    killTree(daemon.lockedPid("helped"), "SIGKILL");
    // The server exits at the end of its input; nothing is left to see that its helper runs on.
    await until(() => !isAlive(server), "the server to exit with its daemon");
    assert.ok(isAlive(helper), "the helper outlived its server");
    const next = await serverPid(proxy); // the proxy starts the next daemon
    daemon.track(next);
    await until(() => !isAlive(helper), "the next daemon to stop the helper left in the dead server's group");
    assert.match(readFileSync(join(daemon.home, "helped.log"), "utf8"), /left running in its process group/);
  });
});
