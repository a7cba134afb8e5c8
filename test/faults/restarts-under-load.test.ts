import { join } from "node:path";
import { test } from "node:test";
import { until, within } from "../helpers/bounded.js";
import { configuredHome, probeServer } from "../helpers/daemon-home.js";
import { httpJson, runManagerCli, stopManagerAfter } from "../helpers/manager.js";
import { freePort, isAlive } from "../helpers/processes.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";
import { report } from "./fault-report.js";

const PROXIES = 10;
const IN_FLIGHT = 3;
const RESTARTS = 8;

test("restarts under load: graceful restarts of a server 10 sessions call without pause lose no call", async (t) => {
  const port = await freePort();
  const daemon = configuredHome(t, { busy: probeServer() }, { manager: { port } });
  const file = join(daemon.home, "config.json");
  stopManagerAfter(t, daemon);
  await runManagerCli(["--config", file, "start", "--detach", "--start-all"], { env: daemon.env });
  await until(() => Boolean(daemon.lockedUrl("busy")), "the manager to start the server");
  const clients = Array.from({ length: PROXIES }, () => new ProxyClient(t, ["--config", file, "--target", "busy"], { env: daemon.env }));
  await Promise.all(clients.map((client) => client.initialize()));

  const violations: string[] = [];
  const latencies: number[] = [];
  let calls = 0;
  let slowCalls = 0;
  let running = true;
  const load = Promise.all(
    clients.flatMap((client, which) =>
      Array.from({ length: IN_FLIGHT }, async (_, lane) => {
        for (let i = 0; running; i++) {
          // Every 50th call of a lane takes 300 ms: some call is always mid-way when a restart comes.
          const slow = i % 50 === 49;
          const message = `proxy ${which} lane ${lane} call ${i}`;
          const started = performance.now();
          const answer = await client.callTool(slow ? "sleep" : "echo", slow ? { ms: 300 } : { message });
          latencies.push(performance.now() - started);
          calls += 1;
          if (slow) slowCalls += 1;
          const expected = slow ? /^slept 300 ms/ : new RegExp(`^${message}$`);
          if (!expected.test(textOf(answer))) violations.push(`${message}: ${JSON.stringify(answer.error ?? answer.result)}`);
        }
      }),
    ),
  );

  const token = daemon.token();
  const replaced: number[] = [];
  for (let restart = 0; restart < RESTARTS; restart++) {
    const before = calls;
    await until(() => calls >= before + 300, "300 calls between restarts");
    const old = daemon.lockedPid("busy")!;
    const answer = await httpJson(port, "POST", "/restart", {
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "busy" }),
    });
    if (answer.status !== 200) violations.push(`/restart answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    replaced.push(old);
  }
  const last = calls;
  await until(() => calls >= last + 300, "300 calls after the last restart");
  running = false;
  await within(load, "the sessions' last calls");
  for (const pid of replaced) await until(() => !isAlive(pid), `the drained daemon ${pid} to exit by itself`);
  for (const client of clients) {
    const ids = client.received.filter((m) => m.id !== undefined && m.method === undefined).map((m) => String(m.id));
    if (new Set(ids).size !== ids.length) violations.push("a request was answered twice");
  }

  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]!.toFixed(0);
  report({
    fault: "graceful restarts under load",
    load:
      `${RESTARTS} restarts (POST /restart) while ${PROXIES} proxies made ${calls} calls, ${IN_FLIGHT} in flight each ` +
      `(${slowCalls} of them 300 ms long); latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms; ` +
      `every replaced daemon exited by itself`,
    violations,
  });
  if (violations.length) throw new Error(violations.slice(0, 5).join("\n"));
});
