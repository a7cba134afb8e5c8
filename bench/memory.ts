import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClient } from "./clients.js";
import { ROOT } from "./everything-server.js";
import { median, ms } from "./stats.js";

const OFFICIAL = `${ROOT}node_modules/@modelcontextprotocol/server-memory/dist/index.js`;
const MANAGER = `${ROOT}dist/manager/index.js`;
const ENTITIES = 10_000;
const BATCH = 500;
const SEARCHES = 50;
const WRITES = 30;
const READS = 10;
const RACE_WRITES = 200;

type Message = Record<string, any>;

const tool = (client: StdioClient, name: string, args: Message) => client.call("tools/call", { name, arguments: args });

async function fill(client: StdioClient): Promise<void> {
  for (let start = 0; start < ENTITIES; start += BATCH) {
    const entities = [];
    for (let i = start; i < start + BATCH; i++) {
      entities.push({
        name: `entity-${i}`,
        entityType: `type-${i % 20}`,
        observations: [`note ${i} alpha`, `remark ${i} beta`, `fact ${i} gamma`],
      });
    }
    await tool(client, "create_entities", { entities });
  }
}

async function timed(count: number, run: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await run(i);
    times.push(performance.now() - start);
  }
  return times;
}

/** Two processes writing RACE_WRITES entities each, one at a time, to one store; how many survive. */
async function race(start: () => StdioClient): Promise<number> {
  const writers = [start(), start()];
  await Promise.all(writers.map((w) => w.initialize()));
  await Promise.all(
    writers.map(async (writer, w) => {
      for (let i = 0; i < RACE_WRITES; i++)
        await tool(writer, "create_entities", { entities: [{ name: `w${w}-${i}`, entityType: "t", observations: [] }] });
    }),
  );
  const reader = start();
  await reader.initialize();
  const graph = (await tool(reader, "read_graph", {})).result.structuredContent;
  await Promise.all([...writers, reader].map((client) => client.close()));
  return graph.entities.length;
}

/**
 * Issue: the built-in memory server against @modelcontextprotocol/server-memory, both over stdio with the same
 * client, on a graph of ENTITIES entities with 3 observations each, in one run.
 */
export async function memoryBenchmark(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "msm-bench-memory-"));
  try {
    const project = join(dir, "project");
    mkdirSync(project);
    const env = { ...process.env, HOME: dir };
    const ours = () => new StdioClient(process.execPath, [MANAGER, "memory", "--stdio", "--project", project], env);
    const official = () => new StdioClient(process.execPath, [OFFICIAL], { ...env, MEMORY_FILE_PATH: join(dir, "memory.jsonl") });

    const results: Record<string, { search: number[]; write: number[]; read: number[]; readAfterWrite: number[] }> = {};
    for (const [label, start] of [
      ["mcp-session-manager (SQLite)", ours],
      ["official server-memory (JSONL)", official],
    ] as const) {
      const client = start();
      await client.initialize();
      await fill(client);
      const search = await timed(SEARCHES, (i) => tool(client, "search_nodes", { query: `remark ${(i * 197) % ENTITIES} BETA` }));
      const write = await timed(WRITES, (i) =>
        tool(client, "create_entities", { entities: [{ name: `new-${i}`, entityType: "t", observations: ["x"] }] }),
      );
      const read = await timed(READS, () => tool(client, "read_graph", {}));
      // Each read after a write: nothing kept from the read before can be used.
      const readAfterWrite: number[] = [];
      for (let i = 0; i < READS; i++) {
        await tool(client, "create_entities", { entities: [{ name: `after-${i}`, entityType: "t", observations: [] }] });
        readAfterWrite.push(...(await timed(1, () => tool(client, "read_graph", {}))));
      }
      results[label] = { search, write, read, readAfterWrite };
      await client.close();
    }
    const [mine, theirs] = Object.values(results) as [(typeof results)[string], (typeof results)[string]];
    const row = (label: string, pick: (r: typeof mine) => number[]) =>
      `| ${label} | ${ms(median(pick(mine)), 2)} | ${ms(median(pick(theirs)), 2)} | ${(median(pick(theirs)) / median(pick(mine))).toFixed(1)}x |`;

    rmSync(join(dir, "memory.jsonl"), { force: true });
    const raceProject = join(dir, "race");
    mkdirSync(raceProject);
    const keptOurs = await race(() => new StdioClient(process.execPath, [MANAGER, "memory", "--stdio", "--project", raceProject], env));
    const keptOfficial = await race(
      () => new StdioClient(process.execPath, [OFFICIAL], { ...env, MEMORY_FILE_PATH: join(dir, "race.jsonl") }),
    );

    return [
      `### Built-in memory vs @modelcontextprotocol/server-memory (${ENTITIES} entities x 3 observations, both over stdio)`,
      "",
      "| operation (median) | ours | official | official / ours |",
      "|---|---|---|---|",
      row(`search_nodes (${SEARCHES} queries matching one entity)`, (r) => r.search),
      row(`create_entities, one entity (${WRITES} calls)`, (r) => r.write),
      row(`read_graph, graph unchanged (${READS} calls in a row)`, (r) => r.read),
      row(`read_graph right after a write (${READS} times)`, (r) => r.readAfterWrite),
      "",
      `Targets: search and single writes at least 20x faster than the official server at this size; our search median under 5 ms.`,
      "",
      `Two processes writing ${RACE_WRITES} entities each, one call at a time, to one store: ours kept **${keptOurs} of ${2 * RACE_WRITES}**; ` +
        `the official server (two processes, one MEMORY_FILE_PATH) kept **${keptOfficial} of ${2 * RACE_WRITES}**: ` +
        `each of its writes rewrites the whole file from what that process last read, so the other's writes in between are lost.`,
    ].join("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
