import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { memoryHome, memorySession } from "../helpers/memory-home.js";
import { ROOT } from "../helpers/paths.js";
import { isAlive } from "../helpers/processes.js";
import { ProxyClient, textOf, type Message } from "../helpers/proxy-client.js";
import { tempDir } from "../helpers/temp-dir.js";
import { report } from "./fault-report.js";

const failed = (answer: Message) => Boolean(answer.error || answer.result?.isError);

test("a damaged database next to healthy projects under load: 8 writers keep every write, its own sessions get errors", async (t) => {
  const daemon = await memoryHome(t);
  const healthy = [tempDir(t), tempDir(t)];
  const damaged = tempDir(t);
  const garbage = "not a database\n".repeat(1000);
  mkdirSync(join(damaged, ".claude"), { mode: 0o700 });
  writeFileSync(join(damaged, ".claude", "memory.db"), garbage);
  // Four writers per healthy project, and two sessions of the damaged one calling all along.
  const writers = await Promise.all(Array.from({ length: 8 }, (_, i) => memorySession(t, daemon.env, healthy[i % 2]!)));
  const victims = await Promise.all([memorySession(t, daemon.env, damaged), memorySession(t, daemon.env, damaged)]);
  const violations: string[] = [];
  let refused = 0;
  let writes = 0;
  const stop = { now: false };
  const damagedCalls = victims.map(async (client, v) => {
    for (let i = 0; !stop.now; i++) {
      const answer = await client.callTool("create_entities", { entities: [{ name: `v${v}-${i}`, entityType: "t", observations: [] }] });
      if (!failed(answer)) violations.push(`a write to the damaged database was acknowledged: ${JSON.stringify(answer)}`);
      else if (!/the memory database .*memory\.db cannot be used.*move it aside/.test(textOf(answer) || answer.error?.message || ""))
        violations.push(`an error that does not name the file and the fix: ${JSON.stringify(answer)}`);
      refused += 1;
    }
  });
  await Promise.all(
    writers.map(async (client, s) => {
      for (let i = 0; i < 250; i++) {
        const created = await client.callTool("create_entities", {
          entities: [{ name: `s${s}-e${i}`, entityType: "writer", observations: [`first ${i}`] }],
        });
        const added = await client.callTool("add_observations", {
          observations: [{ entityName: `s${s}-e${i}`, contents: [`second ${i}`] }],
        });
        for (const answer of [created, added]) {
          if (failed(answer)) violations.push(`writer ${s}: ${JSON.stringify(answer).slice(0, 300)}`);
          else writes += 1;
        }
      }
    }),
  );
  stop.now = true;
  await Promise.all(damagedCalls);
  for (const [index, project] of healthy.entries()) {
    const graph = (await writers[index]!.callTool("read_graph")).result.structuredContent;
    if (graph.entities.length !== 4 * 250) violations.push(`project ${index}: ${graph.entities.length} entities, not ${4 * 250}`);
    for (const entity of graph.entities) if (entity.observations.length !== 2) violations.push(`${entity.name} lost an observation`);
    if (graph.entities.some((entity: Message) => !String(entity.name).match(index === 0 ? /^s\d*[02468]-/ : /^s\d*[13579]-/)))
      violations.push(`project ${index} (${project}) holds another project's entities`);
  }
  if (readFileSync(join(damaged, ".claude", "memory.db"), "utf8") !== garbage) violations.push("the damaged file was changed");
  if (!isAlive(daemon.lockedPid("memory")!)) violations.push("the memory daemon died");
  report({
    fault: "damaged database next to healthy projects",
    load: `8 sessions wrote ${writes} times into 2 healthy projects while 2 sessions of a project with a non-SQLite memory.db made ${refused} calls`,
    violations,
  });
  assert.deepEqual(violations, []);
});

test("4 separate memory processes on one database file (stdio mode, WAL): every write kept, no lock errors", async (t) => {
  const project = tempDir(t);
  const home = tempDir(t);
  const writers = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const client = new ProxyClient(t, ["memory", "--stdio", "--project", project], {
        env: { ...process.env, HOME: home },
        command: [`${ROOT}dist/manager/index.js`],
      });
      await client.initialize();
      return client;
    }),
  );
  const violations: string[] = [];
  await Promise.all(
    writers.map(async (client, w) => {
      for (let i = 0; i < 250; i++) {
        const answer = await client.callTool("create_entities", {
          entities: [{ name: `w${w}-${i}`, entityType: "t", observations: [`o${i}`] }],
        });
        if (failed(answer)) violations.push(JSON.stringify(answer).slice(0, 300));
      }
    }),
  );
  const stored = (await writers[0]!.callTool("read_graph")).result.structuredContent.entities.length;
  if (stored !== 1000) violations.push(`${stored} entities stored, not 1000`);
  report({
    fault: "4 processes on one database file",
    load: "1,000 writes from 4 memory --stdio processes on one WAL database",
    violations,
  });
  assert.deepEqual(violations, []);
});
