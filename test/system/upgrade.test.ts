import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { until, within } from "../helpers/bounded.js";
import { stopManagerAfter } from "../helpers/manager.js";
import { configuredHome, probeServer } from "../helpers/daemon-home.js";
import { ROOT } from "../helpers/paths.js";
import { freePort, isAlive } from "../helpers/processes.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";
import { tempDir } from "../helpers/temp-dir.js";

const run = promisify(execFile);
const CURRENT = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const OLD = "1.99.0-upgrade-test";
const SESSIONS = 3;

/** `npm pack` of `dir` into `into`, without building again; the tarball's path. */
async function pack(dir: string, into: string): Promise<string> {
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", into], { cwd: dir });
  return join(into, stdout.trim().split("\n").at(-1)!);
}

/** Every file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((file) => statSync(file).isFile());
}

/**
 * This build as package tarballs of two versions: as it is, and the same stamped with an earlier version (its
 * package.json and the version the bundles carry), each installed globally into a prefix of its own. From npm's
 * cache where it can (`npm ci` put the packages there; their registry metadata may still have to be fetched on a
 * fresh machine), and without install scripts: the stdio servers used here never load the SQLite addon.
 */
async function twoInstalls(t: Parameters<typeof tempDir>[0]) {
  const work = tempDir(t, "msm-upgrade-");
  const current = await pack(ROOT, work);
  await run("tar", ["-xzf", current, "-C", work]);
  const unpacked = join(work, "package");
  const manifest = JSON.parse(readFileSync(join(unpacked, "package.json"), "utf8")) as { version: string };
  writeFileSync(join(unpacked, "package.json"), JSON.stringify({ ...manifest, version: OLD }, null, 2));
  let stamped = 0;
  for (const file of filesUnder(join(unpacked, "dist")).filter((name) => name.endsWith(".js"))) {
    const text = readFileSync(file, "utf8");
    if (!text.includes(`"${CURRENT}"`)) continue;
    writeFileSync(file, text.replaceAll(`"${CURRENT}"`, `"${OLD}"`));
    stamped += 1;
  }
  assert.ok(stamped >= 2, "the proxy and the manager carry their version");
  const old = await pack(unpacked, work);
  const install = async (tarball: string, prefix: string) => {
    await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", tarball], {
      cwd: work,
    });
    const bin = (name: string) => join(prefix, "bin", name);
    return { manager: bin("mcp-manager"), proxy: join(prefix, "lib", "node_modules", "mcp-session-manager", "dist", "proxy", "index.js") };
  };
  return { old: await install(old, join(work, "old")), current: await install(current, join(work, "current")) };
}

describe("upgrades", () => {
  test("after installing a new version, mcp-manager upgrade moves the manager and the daemons to it while sessions call on", async (t) => {
    const installs = await within(twoInstalls(t), "both versions packed and installed", 120_000);
    const port = await freePort();
    const daemon = configuredHome(t, { probe: probeServer() }, { manager: { port } });
    const config = join(daemon.home, "config.json");
    const cli = async (which: { manager: string }, ...args: string[]) => {
      const { stdout } = await run(which.manager, ["--config", config, ...args], { env: daemon.env });
      return stdout;
    };
    stopManagerAfter(t, daemon);
    await cli(installs.old, "start", "--detach", "--start-all");
    const oldDaemon = daemon.lockedPid("probe")!;

    // Sessions of the old version's proxy, calling without pause.
    const clients = Array.from(
      { length: SESSIONS },
      () => new ProxyClient(t, ["--config", config, "--target", "probe"], { env: daemon.env, command: [installs.old.proxy] }),
    );
    await Promise.all(clients.map((client) => client.initialize()));
    let running = true;
    let calls = 0;
    const errors: string[] = [];
    const loops = clients.map(async (client, index) => {
      for (let i = 0; running; i++) {
        const message = `${index}/${i}`;
        const answer = await client.callTool("echo", { message });
        calls += 1;
        if (textOf(answer) !== message) errors.push(JSON.stringify(answer));
      }
    });
    await until(() => calls >= 100, "100 calls on the old version");

    const before = await cli(installs.current, "status");
    assert.match(before, new RegExp(`manager: running \\(pid \\d+, API http://127\\.0\\.0\\.1:${port}\\), OUTDATED \\(${OLD}\\)`));
    assert.match(before, new RegExp(`probe\\s+running, OUTDATED \\(${OLD}\\)`));

    const upgraded = await cli(installs.current, "upgrade");
    assert.match(upgraded, new RegExp(`manager: ${OLD} -> ${CURRENT}`));
    assert.match(upgraded, new RegExp(`probe: ${OLD} -> ${CURRENT}`));
    const after = calls;
    await until(() => calls >= after + 100, "100 calls after the upgrade");
    running = false;
    await within(Promise.all(loops), "the sessions' last calls");
    assert.deepEqual(errors, [], `no errors in ${calls} calls`);
    await until(() => !isAlive(oldDaemon), "the old daemon to drain and exit");

    const status = JSON.parse(await cli(installs.current, "status", "--json"));
    assert.equal(status.manager.version, CURRENT);
    const probe = status.daemons.find((report: { name: string }) => report.name === "probe");
    assert.equal(probe.version, CURRENT);
    assert.equal(probe.outdated, undefined);
    assert.equal(probe.sessions, SESSIONS, "every session moved to the new daemon");
    assert.match(await cli(installs.current, "upgrade"), new RegExp(`already run ${CURRENT}`), "a second upgrade has nothing to do");
  });
});
