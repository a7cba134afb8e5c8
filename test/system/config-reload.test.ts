import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { until } from "../helpers/bounded.js";
import { configuredHome, probeServer } from "../helpers/daemon-home.js";
import { runManagerCli, stopManagerAfter } from "../helpers/manager.js";
import { freePort, isAlive } from "../helpers/processes.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";

describe("config hot reload", () => {
  test("an edit applies while the manager runs: added at once, changed restarted, removed stopped, the rest untouched; a broken edit changes nothing", async (t) => {
    const port = await freePort();
    const daemon = configuredHome(t, { a: probeServer(), b: probeServer(), d: probeServer() }, { manager: { port } });
    const file = join(daemon.home, "config.json");
    const cli = (...args: string[]) => runManagerCli(["--config", file, ...args], { env: daemon.env });
    stopManagerAfter(t, daemon);
    assert.equal((await cli("start", "--detach", "--start-all")).code, 0);
    await until(() => ["a", "b", "d"].every((name) => Boolean(daemon.lockedUrl(name))), "the manager to start a, b and d");
    const [a, b, d] = [daemon.lockedPid("a")!, daemon.lockedPid("b")!, daemon.lockedPid("d")!];
    const managerLog = () => readFileSync(join(daemon.home, "manager.log"), "utf8");

    // Saved as editors do: a new file renamed over the old one.
    const edited = JSON.parse(readFileSync(file, "utf8"));
    delete edited.servers.a;
    edited.servers.b = probeServer({ env: { CHANGED: "1" } });
    edited.servers.c = probeServer();
    writeFileSync(`${file}.new`, JSON.stringify(edited, null, 2));
    renameSync(`${file}.new`, file);

    await until(() => !isAlive(a), "the removed server's daemon to stop", undefined).catch((error: Error) => {
      throw new Error(`${error.message}; the manager logged:\n${managerLog()}`);
    });
    await until(
      () => Boolean(daemon.lockedPid("b") && daemon.lockedPid("b") !== b && daemon.lockedUrl("b")),
      "the changed server to restart",
    );
    assert.equal(daemon.lockedPid("d"), d, "an unchanged server keeps its process");
    assert.ok(isAlive(d));
    const client = new ProxyClient(t, ["--config", file, "--target", "c"], { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "added" })), "added", "the added server serves at once");
    assert.match(managerLog(), /config reloaded: added c; changed b; removed a \(the file changed\)/);

    // Mid-save, the file is briefly gone: that is not "no config", and nothing is stopped for it.
    renameSync(file, `${file}.saving`);
    const gone = await cli("reload");
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /config\.json is gone; the last good config stays in force/);
    assert.equal(daemon.lockedPid("d"), d);
    assert.ok(isAlive(d));
    renameSync(`${file}.saving`, file);

    writeFileSync(file, `{"servers": {"d": {"command": "node" "args": []}}}`);
    await until(
      async () => /NOT RELOADED: config file .* a comma is missing/.test((await cli("status")).stdout),
      "status to show the broken edit",
    );
    const reload = await cli("reload");
    assert.equal(reload.code, 1);
    assert.match(reload.stderr, /^the config was not reloaded: .*the last good config stays in force\n$/, "said once");
    assert.equal(daemon.lockedPid("d"), d, "a broken edit stops nothing");
    assert.equal(daemon.lockedPid("b") !== undefined && isAlive(daemon.lockedPid("b")!), true);

    // The fix: d now disabled, so it is stopped rather than restarted.
    edited.servers.d = probeServer({ disabled: true });
    writeFileSync(file, JSON.stringify(edited, null, 2));
    const fixed = await cli("reload");
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, /config reloaded/);
    await until(() => !isAlive(d), "the disabled server's daemon to stop");
    assert.doesNotMatch((await cli("status")).stdout, /NOT RELOADED/);
  });

  test("a session that lost its daemon while the file is broken reconnects with the entry it had", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer() });
    const file = join(daemon.home, "config.json");
    const client = new ProxyClient(t, ["--config", file, "--target", "probe"], { env: daemon.env });
    await client.initialize();
    const first = daemon.lockedPid("probe")!;
    writeFileSync(file, `{"servers": {"probe": `);
    process.kill(first, "SIGKILL");
    await until(() => /daemon session lost/.test(client.stderr), "the proxy to notice its daemon is gone");
    const answer = await client.callTool("echo", { message: "still here" });
    assert.equal(textOf(answer), "still here", JSON.stringify(answer));
    assert.notEqual(daemon.lockedPid("probe"), first, "served by a new daemon");
    assert.match(client.stderr, /is not valid JSON: .*; this session keeps the entry it had/);
  });
});
