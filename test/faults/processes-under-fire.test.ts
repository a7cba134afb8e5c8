import assert from "node:assert/strict";
import { until } from "../helpers/bounded.js";
import { once } from "node:events";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { configuredHome, probeServer, type DaemonHome } from "../helpers/daemon-home.js";
import { freePort, isAlive, processesOfHome } from "../helpers/processes.js";
import { ProxyClient, textOf, type Message } from "../helpers/proxy-client.js";
import { report } from "./fault-report.js";
import { httpJson } from "../helpers/manager.js";

const proxyArgs = (daemon: DaemonHome, name = "probe") => ["--config", join(daemon.home, "config.json"), "--target", name];

/**
 * Runs `total` tool calls through each client, `inFlight` at a time, calling `afterAnswer` after each answer
 * (where faults are injected, so they land while calls are in flight). Returns every answer per client.
 */
async function callLoad(
  clients: ProxyClient[],
  total: number,
  inFlight: number,
  call: (client: ProxyClient, index: number) => [string, Message],
  afterAnswer: () => void,
) {
  const sent = clients.map(() => new Map<number, Message | undefined>());
  await Promise.all(
    clients.map(async (client, which) => {
      let issued = 0;
      const worker = async () => {
        while (issued < total) {
          const index = issued++;
          const [method, params] = call(client, index);
          const id = client.start(method, params);
          sent[which]!.set(id, undefined);
          sent[which]!.set(id, await client.responseTo(id));
          afterAnswer();
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
    }),
  );
  return sent;
}

/** Answers per id across everything a client received: each request must have exactly one. */
function answerCounts(client: ProxyClient): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of client.received.flatMap((m) => (Array.isArray(m) ? m : [m])) as Message[]) {
    if (message.method !== undefined) continue;
    const key = JSON.stringify(message.id);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function checkAnswers(
  clients: ProxyClient[],
  sent: Array<Map<number, Message | undefined>>,
  violations: string[],
  errorsAllowed: boolean,
): number {
  let errors = 0;
  clients.forEach((client, which) => {
    if (client.child.exitCode !== null || client.child.signalCode !== null) violations.push(`proxy ${which} exited`);
    const counts = answerCounts(client);
    for (const [id, answer] of sent[which]!) {
      const count = counts.get(JSON.stringify(id)) ?? 0;
      if (count !== 1) violations.push(`proxy ${which}: request ${id} answered ${count} times`);
      if (answer?.error) {
        errors += 1;
        if (!errorsAllowed) violations.push(`proxy ${which}: request ${id} failed: ${answer.error.message}`);
      }
    }
    for (const key of counts.keys()) {
      if (key === "1") continue; // initialize
      if (!sent[which]!.has(JSON.parse(key))) violations.push(`proxy ${which}: an answer under id ${key}, never sent`);
    }
  });
  return errors;
}

test("SIGINT storm: 600 SIGINTs to three proxies and their process groups during 900 calls", async (t) => {
  const daemon = configuredHome(t, { probe: probeServer() });
  const clients = await Promise.all(
    [0, 1, 2].map(async () => {
      const client = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env, detached: true });
      await client.initialize();
      return client;
    }),
  );
  const daemonPid = daemon.lockedPid("probe")!;
  let signals = 0;
  const sent = await callLoad(
    clients,
    300,
    3,
    () => ["tools/call", { name: "echo", arguments: { message: "under fire" } }],
    () => {
      if (signals >= 600) return;
      const target = clients[signals % 3]!.child.pid!;
      process.kill(signals % 2 ? -target : target, "SIGINT"); // the proxy, then its whole group, as a terminal's Ctrl-C does
      signals += 1;
    },
  );
  const violations: string[] = [];
  checkAnswers(clients, sent, violations, false);
  if (!isAlive(daemonPid) || daemon.lockedPid("probe") !== daemonPid) violations.push("the daemon changed or died");
  report({
    fault: "SIGINT storm",
    load: `${signals} SIGINTs (pid and group alternately) over 3 proxies during 900 echo calls, 3 in flight per proxy`,
    violations,
  });
  assert.deepEqual(violations, []);
});

test("SIGKILL of the daemon and of the server child during calls: every request answered once, no orphans after stop", async (t) => {
  const daemon = configuredHome(t, { probe: probeServer() });
  const clients = await Promise.all(
    [0, 1, 2].map(async () => {
      const client = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
      await client.initialize();
      return client;
    }),
  );
  let answered = 0;
  let kills = 0;
  const killed: string[] = [];
  // The server's pid from the daemon's /health, so that finding it adds no request to the ones counted.
  const childPid = async () => {
    const authorization = `Bearer ${daemon.token()}`;
    const health = await httpJson(Number(new URL(daemon.lockedUrl("probe")!).port), "GET", "/health", { headers: { authorization } });
    return health.body.children[0].pid as number;
  };
  const sent = await callLoad(
    clients,
    400,
    4,
    () => ["tools/call", { name: "echo", arguments: { message: "x" } }],
    () => {
      answered += 1;
      if (answered % 150 !== 0 || kills >= 6) return;
      kills += 1;
      if (kills % 2) {
        const pid = daemon.lockedPid("probe");
        if (pid && isAlive(pid)) {
          process.kill(pid, "SIGKILL");
          killed.push(`daemon ${pid}`);
        }
      } else {
        void childPid().then(
          (pid) => {
            if (isAlive(pid)) {
              process.kill(-pid, "SIGKILL");
              killed.push(`child ${pid}`);
            }
          },
          () => {},
        );
      }
    },
  );
  const violations: string[] = [];
  const errors = checkAnswers(clients, sent, violations, true);
  // After the storm, every session works again.
  for (const [which, client] of clients.entries()) {
    const answer = await client.callTool("echo", { message: "after" });
    if (textOf(answer) !== "after") violations.push(`proxy ${which} does not serve again: ${JSON.stringify(answer)}`);
  }
  // Stop everything the clients use: no process of this home may be left.
  for (const client of clients) {
    client.child.stdin!.end();
    await once(client.child, "exit");
  }
  const pid = daemon.lockedPid("probe");
  if (pid) {
    process.kill(pid, "SIGTERM");
    await until(() => !isAlive(pid), `process ${pid} to be gone`);
  }
  const left = processesOfHome(daemon.home);
  if (left.length) violations.push(`processes left after stop: ${left.join(", ")}`);
  report({
    fault: "SIGKILL daemon and child during calls",
    load: `${killed.length} kills (${killed.join(", ")}) during 1200 echo calls from 3 proxies, 4 in flight each; ${errors} calls failed with their own ids while the server was down`,
    violations,
  });
  assert.deepEqual(violations, []);
});

test("SIGKILL of the memory daemon during writes: no acknowledged write is lost", async (t) => {
  const port = await freePort();
  const daemon = configuredHome(t, { memory: { builtin: "memory", port } });
  // The project exists before the sessions start, and HOME is the test's: nothing may touch the user's ~/.claude.
  const project = join(daemon.home, "project");
  mkdirSync(project, { recursive: true });
  const env = { ...daemon.env, HOME: daemon.home, CLAUDE_PROJECT_DIR: project };
  const clients = await Promise.all(
    [0, 1, 2].map(async () => {
      const client = new ProxyClient(t, proxyArgs(daemon, "memory"), { env });
      await client.initialize();
      return client;
    }),
  );
  let answered = 0;
  let kills = 0;
  const name = (client: ProxyClient, index: number) => `e-${clients.indexOf(client)}-${index}`;
  const sent = await callLoad(
    clients,
    150,
    2,
    (client, index) => [
      "tools/call",
      { name: "create_entities", arguments: { entities: [{ name: name(client, index), entityType: "t", observations: ["o"] }] } },
    ],
    () => {
      answered += 1;
      if (answered % 100 !== 0 || kills >= 3) return;
      const pid = daemon.lockedPid("memory");
      if (pid && isAlive(pid)) {
        process.kill(pid, "SIGKILL");
        kills += 1;
      }
    },
  );
  const violations: string[] = [];
  checkAnswers(clients, sent, violations, true);
  const graph = JSON.parse(textOf(await clients[0]!.callTool("read_graph", {}))) as { entities: Array<{ name: string }> };
  const stored = new Set(graph.entities.map((entity) => entity.name));
  let acknowledged = 0;
  sent.forEach((answers) => {
    for (const [id, answer] of answers) {
      if (!answer?.result || answer.result.isError) continue;
      acknowledged += 1;
      const created = JSON.parse(textOf(answer)) as Array<{ name: string }>;
      for (const entity of created)
        if (!stored.has(entity.name)) violations.push(`acknowledged write lost: ${entity.name} (request ${id})`);
    }
  });
  report({
    fault: "SIGKILL memory daemon during writes",
    load: `${kills} daemon kills during 450 create_entities calls from 3 proxies; ${acknowledged} acknowledged, ${stored.size} stored`,
    violations,
  });
  assert.deepEqual(violations, []);
});

test("a full disk under the log: proxy and daemon keep serving", async (t) => {
  const daemon = configuredHome(t, { probe: probeServer() });
  symlinkSync("/dev/full", join(daemon.home, "probe.log")); // every write to the log fails with ENOSPC
  const client = new ProxyClient(t, proxyArgs(daemon), { env: daemon.env });
  await client.initialize();
  const violations: string[] = [];
  for (let index = 0; index < 200; index++) {
    const answer = await client.callTool("echo", { message: `n${index}` });
    if (textOf(answer) !== `n${index}`) violations.push(`call ${index}: ${JSON.stringify(answer).slice(0, 200)}`);
  }
  const pid = daemon.lockedPid("probe")!;
  process.kill(JSON.parse(textOf(await client.callTool("stats"))).pid, "SIGKILL"); // a crash makes the daemon log
  const after = await client.callTool("echo", { message: "after a crash" });
  if (textOf(after) !== "after a crash" && !after.error) violations.push(`after the crash: ${JSON.stringify(after)}`);
  if (textOf(await client.callTool("echo", { message: "still" })) !== "still") violations.push("no longer serving after the crash");
  if (!isAlive(pid)) violations.push("the daemon died");
  if (client.child.exitCode !== null) violations.push("the proxy exited");
  report({
    fault: "full disk for the log file",
    load: "log symlinked to /dev/full (ENOSPC on every write); 200 calls, one server crash, 2 more calls",
    violations,
  });
  assert.deepEqual(violations, []);
});
