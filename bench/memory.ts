import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClient } from "./clients.js";
import { PROXY, ROOT } from "./everything-server.js";
import { stopOurDaemon } from "./our-daemon.js";
import { median, ms } from "./stats.js";

const OFFICIAL = `${ROOT}node_modules/@modelcontextprotocol/server-memory/dist/index.js`;
const MANAGER = `${ROOT}dist/manager/index.js`;
const ENTITIES = 10_000;
const BATCH = 500;
const SEARCHES = 250;
const WRITES = 30;
const READS = 20;
/** The timed calls are made in this many rounds, each server in turn, so that the machine's drift hits all alike. */
const ROUNDS = 5;
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

/**
 * Run before each timed read of a whole graph (`npm run bench` gives Node --expose-gc): the client's own garbage,
 * from parsing the last 3 MB answer, is collected first. A collection in the client while an answer arrives
 * stalls the pipe for 10-20 ms, which would be counted against whichever server was answering.
 */
const collectClientGarbage: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function timed(
  count: number,
  run: (i: number) => Promise<unknown>,
  served?: { client: StdioClient; into: number[] },
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    if (served) collectClientGarbage();
    const start = performance.now();
    await run(i);
    times.push(performance.now() - start);
    served?.into.push(served.client.lastAnswerAt - start);
  }
  return times;
}

/** What answering read_graph costs at least over stdio: a process writing the same bytes, made in advance. */
async function pipeFloor(env: NodeJS.ProcessEnv): Promise<number[]> {
  const script = `
    const entities = [];
    for (let i = 0; i < ${ENTITIES}; i++) entities.push({ name: "entity-" + i, entityType: "type-" + (i % 20), observations: ["note " + i + " alpha", "remark " + i + " beta", "fact " + i + " gamma"] });
    const graph = { entities, relations: [] };
    const result = JSON.stringify({ content: [{ type: "text", text: JSON.stringify(graph, null, 2) }], structuredContent: graph });
    const bytes = Buffer.from(result);
    require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
      const { id } = JSON.parse(line);
      process.stdout.write(Buffer.from('{"jsonrpc":"2.0","id":' + id + ',"result":'));
      process.stdout.write(bytes);
      process.stdout.write("}\\n");
    });`;
  const client = new StdioClient(process.execPath, ["-e", script], env);
  const served: number[] = [];
  await timed(READS + 2, () => client.call("tools/call", { name: "read_graph", arguments: {} }), { client, into: served });
  await client.close();
  return served.slice(2); // the first answers also pay for warming up
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
    // What a session gets: mcp-proxy, its daemon's built-in memory server, a project of its own.
    const proxiedProject = join(dir, "proxied-project");
    mkdirSync(proxiedProject);
    const proxiedHome = join(dir, "home");
    const proxied = () =>
      new StdioClient(process.execPath, [PROXY, "--target", "memory"], {
        ...env,
        MCP_SESSION_MANAGER_HOME: proxiedHome,
        CLAUDE_PROJECT_DIR: proxiedProject,
      });

    type Timings = {
      search: number[];
      write: number[];
      read: number[];
      readAfterWrite: number[];
      served: number[];
      servedAfterWrite: number[];
    };
    const results: Record<string, Timings> = {};
    const servers: Array<{ label: string; client: StdioClient; times: Timings }> = [];
    try {
      for (const [label, start] of [
        ["mcp-session-manager (SQLite)", ours],
        ["official server-memory (JSONL)", official],
        ["mcp-session-manager through mcp-proxy and its daemon", proxied],
      ] as const) {
        const client = start();
        const times: Timings = { search: [], write: [], read: [], readAfterWrite: [], served: [], servedAfterWrite: [] };
        servers.push({ label, client, times });
        results[label] = times;
        await client.initialize();
        await fill(client);
      }
      const [searches, writes, reads] = [SEARCHES / ROUNDS, WRITES / ROUNDS, READS / ROUNDS];
      for (let round = 0; round < ROUNDS; round++) {
        for (const { client, times } of servers) {
          times.search.push(
            ...(await timed(searches, (i) =>
              tool(client, "search_nodes", { query: `remark ${((round * searches + i) * 197) % ENTITIES} BETA` }),
            )),
          );
          times.write.push(
            ...(await timed(writes, (i) =>
              tool(client, "create_entities", { entities: [{ name: `new-${round * writes + i}`, entityType: "t", observations: ["x"] }] }),
            )),
          );
          // A first read after this round's writes, untimed: the timed ones find the graph unchanged since.
          await tool(client, "read_graph", {});
          times.read.push(...(await timed(reads, () => tool(client, "read_graph", {}), { client, into: times.served })));
          // Each read after a write: the graph read before is out of date.
          for (let i = 0; i < reads; i++) {
            await tool(client, "create_entities", {
              entities: [{ name: `after-${round * reads + i}`, entityType: "t", observations: [] }],
            });
            times.readAfterWrite.push(...(await timed(1, () => tool(client, "read_graph", {}), { client, into: times.servedAfterWrite })));
          }
        }
      }
    } finally {
      await Promise.all(servers.map(({ client }) => client.close()));
    }
    await stopOurDaemon(proxiedHome, "memory");
    const floor = await pipeFloor(env);
    type Result = (typeof results)[string];
    const [mine, theirs, session] = Object.values(results) as [Result, Result, Result];
    const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(1)}x`;
    const row = (label: string, pick: (r: Result) => number[]) =>
      `| ${label} | ${ms(median(pick(mine)), 2)} | ${ms(median(pick(theirs)), 2)} | ${ratio(pick(theirs), pick(mine))} | ` +
      `${ms(median(pick(session)), 2)} | ${ratio(pick(theirs), pick(session))} |`;

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
      "| operation (median) | ours | official | official / ours | ours through mcp-proxy and its daemon | official / that |",
      "|---|---|---|---|---|---|",
      row(`search_nodes (${SEARCHES} queries matching one entity)`, (r) => r.search),
      row(`create_entities, one entity (${WRITES} calls)`, (r) => r.write),
      row(`read_graph, graph unchanged (${READS} calls), answered: last byte received`, (r) => r.served),
      row(`read_graph right after a write (${READS} times), answered: last byte received`, (r) => r.servedAfterWrite),
      row(`read_graph, graph unchanged, answered and parsed by the client`, (r) => r.read),
      row(`read_graph right after a write, answered and parsed by the client`, (r) => r.readAfterWrite),
      "",
      `Timed in ${ROUNDS} rounds, each server in turn, after all three were filled. ` +
        `Targets: search and single writes at least 20x faster than the official server at this size; our search median under 5 ms; ` +
        `read_graph answered at least 2x faster, and 10x for an unchanged graph. The answer is about 3 MB of JSON either way: ` +
        `the client's own parsing of it (the same for both servers) is in the last two rows. The last two columns are ` +
        `what a session gets: the same server inside its daemon, reached through mcp-proxy, against the official ` +
        `server spawned by the client.`,
      "",
      `The floor: a process that holds the same answer ready and only writes it to its stdout when asked takes ` +
        `**${ms(median(floor), 2)}** to the last byte (the median of ${READS}): moving 3 MB through a pipe, 64 KiB at a time.`,
      "",
      `Two processes writing ${RACE_WRITES} entities each, one call at a time, to one store: ours kept **${keptOurs} of ${2 * RACE_WRITES}**; ` +
        `the official server (two processes, one MEMORY_FILE_PATH) kept **${keptOfficial} of ${2 * RACE_WRITES}**: ` +
        `each of its writes rewrites the whole file from what that process last read, so the other's writes in between are lost.`,
    ].join("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
