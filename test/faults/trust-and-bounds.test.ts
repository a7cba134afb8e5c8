import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import http from "node:http";
import { test, type TestContext } from "node:test";
import { onCleanup } from "../helpers/cleanup.js";
import { configuredHome, probeServer } from "../helpers/daemon-home.js";
import { httpJson } from "../helpers/manager.js";
import { freePort } from "../helpers/processes.js";
import { ProxyClient, textOf, type Message } from "../helpers/proxy-client.js";
import { report } from "./fault-report.js";

const INITIALIZE = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } };

/** Resident memory of a process, in MiB. */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return Math.round(Number(line![1]) / 1024);
}

/** A process that answers `/ping` as our daemon or manager would, without the proof; it records every request. */
async function squatter(t: TestContext, port: number, identity: Record<string, string>) {
  const received: string[] = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const challenged = request.headers["mcp-session-manager-challenge"] !== undefined;
      if (`${request.method} ${request.url}` !== "GET /ping" || request.headers.authorization || body || !challenged) {
        received.push(
          `${request.method} ${request.url} authorization=${request.headers.authorization ?? "none"} body=${body.slice(0, 100)}`,
        );
      } else received.push("challenge");
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ service: "mcp-session-manager", ...identity, version: "2", instance: "i", proof: "forged" }));
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  onCleanup(t, () => (server.listening ? close() : undefined));
  return { received, close };
}

/** A probe daemon brought up by one proxy session, with the daemon's pid and port. */
async function probeDaemonWithSession(t: TestContext) {
  const daemon = configuredHome(t, { probe: probeServer() });
  const client = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
  await client.initialize();
  return { daemon, client, pid: daemon.lockedPid("probe")!, port: Number(new URL(daemon.lockedUrl("probe")!).port) };
}

test("squatters on the manager's and a daemon's ports while 10 proxies start: sent challenges alone, and served once the port is free", async (t) => {
  const managerPort = await freePort();
  const probePort = await freePort();
  const manager = await squatter(t, managerPort, { role: "manager", name: "" });
  const daemonPort = await squatter(t, probePort, { role: "daemon", name: "probe" });
  const daemon = configuredHome(t, { probe: probeServer({ port: probePort }) }, { manager: { port: managerPort } });
  const violations: string[] = [];
  const clients = Array.from({ length: 10 }, () => new ProxyClient(t, ["--target", "probe"], { env: daemon.env }));
  const first = await Promise.all(clients.map((client) => client.request("initialize", INITIALIZE)));
  for (const [which, answer] of first.entries()) {
    if (!new RegExp(`port ${probePort} is in use by .*, which is not this home's "probe" daemon`).test(answer.error?.message ?? ""))
      violations.push(`proxy ${which} was not told of the squatter: ${JSON.stringify(answer)}`);
  }
  await daemonPort.close();
  let calls = 0;
  await Promise.all(
    clients.map(async (client, which) => {
      const again = await client.request("initialize", INITIALIZE);
      if (again.error) return violations.push(`proxy ${which} not served once the port was free: ${again.error.message}`);
      client.notify("notifications/initialized");
      for (let i = 0; i < 20; i++) {
        const echo = await client.callTool("echo", { message: `${which}-${i}` });
        if (textOf(echo) !== `${which}-${i}`) violations.push(`proxy ${which}: ${JSON.stringify(echo)}`);
        calls += 1;
      }
    }),
  );
  const leaked = [...manager.received, ...daemonPort.received].filter((line) => line !== "challenge");
  violations.push(...leaked.map((line) => `a squatter was sent more than a challenge: ${line}`));
  report({
    fault: "squatters on the manager and daemon ports",
    load: `10 proxies started against both squatters (${manager.received.length + daemonPort.received.length} challenges sent, nothing else), then made ${calls} calls once the daemon's port was free`,
    violations,
  });
  assert.deepEqual(violations, []);
});

test("a flood of 5,000 HTTP sessions that never end: the daemon keeps to maxSessions and its memory; a proxy is served throughout", async (t) => {
  const { daemon, client, pid, port } = await probeDaemonWithSession(t);
  const headers = {
    authorization: `Bearer ${daemon.token()}`,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  };
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: INITIALIZE });
  const before = rssMiB(pid);
  const violations: string[] = [];
  let opened = 0;
  let flooding = true;
  const flood = (async () => {
    for (let batch = 0; batch < 100; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => httpJson(port, "POST", "/mcp", { headers, body })));
      for (const answer of answers) if (answer.status === 200) opened += 1;
    }
    flooding = false;
  })();
  let served = 0;
  while (flooding) {
    const echo = await client.callTool("echo", { message: `during ${served}` });
    if (textOf(echo) !== `during ${served}`) violations.push(`the proxy's call failed during the flood: ${JSON.stringify(echo)}`);
    served += 1;
  }
  await flood;
  const health = await httpJson(port, "GET", "/health", { headers });
  const after = rssMiB(pid);
  if (health.body.sessions > 500) violations.push(`${health.body.sessions} sessions held, over maxSessions (500)`);
  if (after - before > 100) violations.push(`the daemon grew by ${after - before} MiB`);
  report({
    fault: "flood of sessions",
    load: `5,000 HTTP sessions opened (${opened} accepted) and never ended, while a proxy made ${served} calls; the daemon held ${health.body.sessions} sessions and went from ${before} to ${after} MiB`,
    violations,
  });
  assert.deepEqual(violations, []);
});

test("a server that stops reading its input: at most 64 MiB queued, then clear errors; every call answered once the server is replaced", async (t) => {
  const { daemon, client, pid, port } = await probeDaemonWithSession(t);
  const before = rssMiB(pid);
  assert.equal(textOf(await client.callTool("stop_reading")), "stopped reading");
  const big = "x".repeat(1024 * 1024);
  const ids = Array.from({ length: 100 }, () => client.start("tools/call", { name: "echo", arguments: { message: big } }));
  const violations: string[] = [];
  // Those past the daemon's bound are refused at once; the rest wait in its queue for a server that never reads.
  const refusedIds: number[] = [];
  for (const id of ids.slice(70)) {
    const answer: Message = await client.responseTo(id);
    if (/does not read its input/.test(answer.error?.message ?? "")) refusedIds.push(id);
    else violations.push(`request ${id}, past the bound, was not refused: ${JSON.stringify(answer).slice(0, 200)}`);
  }
  const during = rssMiB(pid);
  if (during - before > 200) violations.push(`the daemon grew by ${during - before} MiB with a server that does not read`);
  // The stuck server is replaced (as a user would: kill it); every request gets exactly one answer.
  const health = await httpJson(port, "GET", "/health", { headers: { authorization: `Bearer ${daemon.token()}` } });
  process.kill(-health.body.children[0].pid, "SIGKILL");
  const answers = await Promise.all(ids.slice(0, 70).map((id) => client.responseTo(id)));
  const failedWithId = answers.filter((answer: Message) => answer.error).length;
  const counts = new Map<number, number>();
  for (const message of client.received) if (typeof message.id === "number") counts.set(message.id, (counts.get(message.id) ?? 0) + 1);
  for (const id of ids) if (counts.get(id) !== 1) violations.push(`request ${id} answered ${counts.get(id) ?? 0} times`);
  const echo = await client.callTool("echo", { message: "fresh" });
  if (textOf(echo) !== "fresh") violations.push(`no service after the server was replaced: ${JSON.stringify(echo)}`);
  report({
    fault: "a server that stops reading",
    load: `100 calls of 1 MiB sent to a server that stopped reading: ${refusedIds.length} of the last 30 refused at once, the daemon went from ${before} to ${during} MiB; after SIGKILL of the server, ${failedWithId} of the 70 waiting got errors with their ids, and the next call was served`,
    violations,
  });
  assert.deepEqual(violations, []);
});
