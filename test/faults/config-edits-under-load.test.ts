import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { until } from "../helpers/bounded.js";
import { configuredHome, probeServer } from "../helpers/daemon-home.js";
import { httpJson, runManagerCli, stopManagerAfter } from "../helpers/manager.js";
import { freePort } from "../helpers/processes.js";
import { ProxyClient, textOf } from "../helpers/proxy-client.js";
import { report } from "./fault-report.js";

const PROXIES = 3;
const CALLS = 2000;
const IN_FLIGHT = 4;
/** Calls the edited server answers between two edits. */
const EDIT_EVERY_CALLS = 20;

test("config edits under load: unchanged servers keep their process, edited ones are replaced gracefully, every call answered", async (t) => {
  const port = await freePort();
  const daemon = configuredHome(t, { stable: probeServer(), churn: probeServer() }, { manager: { port } });
  const file = join(daemon.home, "config.json");
  const cli = (...args: string[]) => runManagerCli(["--config", file, ...args], { env: daemon.env });
  stopManagerAfter(t, daemon);
  await cli("start", "--detach", "--start-all");
  await until(() => Boolean(daemon.lockedUrl("stable") && daemon.lockedUrl("churn")), "the manager to start both servers");
  const stablePid = daemon.lockedPid("stable")!;
  const base = JSON.parse(readFileSync(file, "utf8"));

  // The edits people make while working: a server's env changed, one added, one removed, and half-saved files.
  let edits = 0;
  let broken = 0;
  const edit = () => {
    edits += 1;
    const servers: Record<string, unknown> = { stable: base.servers.stable, churn: probeServer({ env: { EDIT: String(edits) } }) };
    if (edits % 2) servers.extra = probeServer();
    const text = edits % 3 === 0 ? `{"servers": {"stable": ` : JSON.stringify({ ...base, servers }, null, 2);
    if (edits % 3 === 0) broken += 1;
    writeFileSync(`${file}.new`, text);
    renameSync(`${file}.new`, file);
  };

  // Half the sessions on the server that never changes, half on the one every edit replaces.
  const targets = Array.from({ length: PROXIES * 2 }, (_, i) => (i < PROXIES ? "stable" : "churn"));
  const clients = targets.map((target) => new ProxyClient(t, ["--config", file, "--target", target], { env: daemon.env }));
  await Promise.all(clients.map((client) => client.initialize()));
  const violations: string[] = [];
  let done = false;
  let churnCalls = 0;
  const load = Promise.all(
    clients.map(async (client, which) => {
      let issued = 0;
      const worker = async () => {
        while (issued < CALLS) {
          const message = `${targets[which]} proxy ${which} call ${issued++}`;
          const answer = await client.callTool("echo", { message });
          if (textOf(answer) !== message) violations.push(`${message}: ${JSON.stringify(answer.error ?? answer.result)}`);
          if (targets[which] === "churn") churnCalls += 1;
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    }),
  ).finally(() => (done = true));
  // Edits one after another while the calls run, each applied before the next (the watcher races the request).
  const outcomes = { applied: 0, refused: 0 };
  const token = daemon.token();
  while (!done) {
    edit();
    const answer = await httpJson(port, "POST", "/reload", {
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });
    if (answer.status === 200) outcomes.applied += 1;
    else if (answer.status === 422) outcomes.refused += 1;
    else violations.push(`/reload answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    // The edited server's sessions get some calls through each daemon before the next edit replaces it.
    const before = churnCalls;
    await until(() => done || churnCalls >= before + EDIT_EVERY_CALLS, `${EDIT_EVERY_CALLS} calls to the edited server`);
  }
  await load;
  // The last edit applied, whatever it was: then a good file, so the run ends on a known config.
  writeFileSync(file, JSON.stringify(base, null, 2));
  const final = await cli("reload");
  if (final.code !== 0) violations.push(`the final reload failed: ${final.stderr}`);
  if (daemon.lockedPid("stable") !== stablePid)
    violations.push(`stable's daemon was replaced (${stablePid} -> ${daemon.lockedPid("stable")})`);
  for (const client of clients) {
    const answers = client.received.filter((m) => m.id !== undefined && m.method === undefined);
    if (answers.length !== CALLS + 1) violations.push(`a proxy got ${answers.length} answers for ${CALLS + 1} requests`);
  }

  report({
    fault: "config edits under load",
    load:
      `${edits} edits of config.json (${broken} left half-written until the next) while ${PROXIES} proxies made ` +
      `${PROXIES * CALLS} echo calls to a server whose entry never changed and ${PROXIES * CALLS} to the edited one, ` +
      `${IN_FLIGHT} in flight each; ${outcomes.applied} reloads applied (each replacing the edited server's daemon ` +
      `gracefully) and ${outcomes.refused} refused; ` +
      `the unchanged server's daemon kept pid ${stablePid}`,
    violations,
  });
  if (violations.length) throw new Error(violations.slice(0, 5).join("\n"));
});
