import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClient } from "./clients.js";
import { EVERYTHING, PROXY } from "./everything-server.js";
import { stopOurDaemon } from "./our-daemon.js";
import { bareNodeMemory, median, mib, percentile, processMemory, type ProcessMemory } from "./stats.js";

const ROUNDS = 20;
/** As many calls as `npm run bench -- proxy` makes before it reads the proxy's memory. */
const CALLS = 3300;

/** Spawn to `initialize` answered, then the session closes. */
async function timedSession(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const begin = performance.now();
  const client = new StdioClient(command, args, env);
  const answer = await client.initialize();
  const elapsed = performance.now() - begin;
  if (answer.error) throw new Error(`${command} ${args.join(" ")}: ${answer.error.message}`);
  await client.close();
  return elapsed;
}

/** Resident and private memory of a proxy after CALLS echo calls over the daemon's session socket. */
async function busyProxyMemory(env: NodeJS.ProcessEnv): Promise<ProcessMemory> {
  const client = new StdioClient(process.execPath, [PROXY, "--target", "everything"], env);
  await client.initialize();
  for (let i = 0; i < CALLS; i++) await client.call("tools/call", { name: "echo", arguments: { message: "benchmark" } });
  const memory = processMemory(client.child.pid!);
  await client.close();
  return memory;
}

async function idleNode(): Promise<number> {
  const begin = performance.now();
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return performance.now() - begin;
}

/**
 * What a session waits for before its first answer, measured side by side in alternating rounds:
 * - warm: mcp-proxy spawned until `initialize` is answered, its daemon (and the daemon's child) already up;
 *   against an idle `node -e ''` spawned until it exits, the least any Node process costs;
 * - cold: the same with no daemon and no child running (the proxy starts the daemon, which starts the child);
 *   against spawning server-everything itself until it answers `initialize`, what a client does without us.
 */
export async function sessionStart(): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "msm-bench-start-"));
  writeFileSync(
    join(home, "config.json"),
    JSON.stringify({ servers: { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] } } }),
  );
  const env = { ...process.env, MCP_SESSION_MANAGER_HOME: home };
  const proxy = [PROXY, "--target", "everything"];
  const times = { node: [] as number[], warm: [] as number[], direct: [] as number[], cold: [] as number[] };
  let busy: ProcessMemory;
  let idle: ProcessMemory;
  try {
    await timedSession(process.execPath, proxy, env); // brings the daemon up for the first warm round
    for (let round = 0; round < ROUNDS; round++) {
      times.node.push(await idleNode());
      times.warm.push(await timedSession(process.execPath, proxy, env));
      times.direct.push(await timedSession(process.execPath, [EVERYTHING, "stdio"], process.env));
      await stopOurDaemon(home, "everything");
      times.cold.push(await timedSession(process.execPath, proxy, env));
    }
    busy = await busyProxyMemory(env);
    idle = await bareNodeMemory();
  } finally {
    await stopOurDaemon(home, "everything");
    rmSync(home, { recursive: true, force: true });
  }
  const row = (label: string, values: number[]) =>
    `| ${label} | ${median(values).toFixed(0)} ms | ${percentile(values, 90).toFixed(0)} ms |`;
  const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
  return [
    `### Session start, spawn to \`initialize\` answered (${ROUNDS} alternating rounds)`,
    "",
    "| what | median | p90 |",
    "|---|---|---|",
    row("idle `node -e ''`, spawn to exit", times.node),
    row("warm: mcp-proxy, daemon and child up", times.warm),
    row("server-everything spawned directly", times.direct),
    row("cold: mcp-proxy, no daemon or child running", times.cold),
    "",
    `Warm start **${ratio(times.warm, times.node)}x** an idle Node start (target: at most 1.5x). ` +
      `Cold start **${ratio(times.cold, times.direct)}x** starting the server directly (target: at most 1.5x).`,
    "",
    `mcp-proxy after ${CALLS} echo calls over the daemon's session socket: resident **${mib(busy.rss)}**, private ` +
      `**${mib(busy.own)}** (targets: under 50 and 12 MiB). An idle \`node\` in the same run: resident ${mib(idle.rss)}, ` +
      `private ${mib(idle.own)}.`,
  ].join("\n");
}
