import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

/** `npm run bench [PART]`: runs every benchmark, or one, and prints Markdown for docs/benchmarks.md. */
const PARTS = ["proxy", "start", "daemon", "memory", "idle", "page"] as const;
type Part = (typeof PARTS)[number];

async function run(part: Part): Promise<string> {
  switch (part) {
    case "proxy":
      return (await import("./proxy-overhead.js")).proxyOverhead();
    case "start":
      return (await import("./session-start.js")).sessionStart();
    case "daemon":
      return (await import("./daemon-sharing.js")).daemonSharing();
    case "memory":
      return (await import("./memory.js")).memoryBenchmark();
    case "idle":
      return (await import("./idle.js")).idleCost();
    case "page":
      return (await import("./status-page.js")).statusPageBenchmark();
  }
}

/**
 * Each part of a full run in a process of its own: what one part leaves in the measuring process (a heap grown by
 * thousands of calls, its collector's background work) slowed the next one's reads of 3 MB answers by 10 – 20 ms.
 */
async function runApart(part: Part): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), part, "--as-part"], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`npm run bench -- ${part} failed (exit ${code})`);
}

const [only, flag] = process.argv.slice(2);
if (flag !== "--as-part") {
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
  console.log(`Machine: ${machine}\n`);
}
if (only === "--compare") {
  const { compareAlternatives } = await import("./compare.js");
  const charts = fileURLToPath(new URL("../../docs/charts/", import.meta.url));
  mkdirSync(charts, { recursive: true });
  console.log(`${await compareAlternatives(charts)}\n`);
} else if (only === undefined) {
  for (const part of PARTS) await runApart(part);
} else if ((PARTS as readonly string[]).includes(only)) {
  console.log(`${await run(only as Part)}\n`);
} else {
  console.error(`unknown part "${only}": one of ${PARTS.join(", ")}, or --compare`);
  process.exit(2);
}
process.exit(0);
