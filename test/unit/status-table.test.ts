import assert from "node:assert/strict";
import { test } from "node:test";
import type { Config } from "../../src/config/server-config.js";
import type { DaemonReport } from "../../src/manager/daemon-state.js";
import { renderStatus } from "../../src/manager/status-table.js";

const config = { servers: [], defaults: "embedded" } as unknown as Config;
const report = (name: string, pid: number, childPid: number): DaemonReport => ({
  name,
  state: "running",
  transport: "stdio",
  pid,
  log: `/home/${name}.log`,
  children: [{ serves: "shared", state: "ready", pid: childPid, sessions: 2, restarts: 0, inFlight: 0 }],
});

test("status names a server's child process, and says so when the server runs in its daemon (the built-in memory)", () => {
  const text = renderStatus(config, "/home", [report("everything", 100, 101), report("memory", 200, 200)], undefined);
  assert.match(text, /everything: child 101 \(ready\) serves shared: 2 sessions/);
  assert.match(text, /memory: in the daemon itself \(ready\) serves shared: 2 sessions/);
  assert.doesNotMatch(text, /memory: child 200/);
});
