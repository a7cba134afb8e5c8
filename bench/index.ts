import { mkdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { daemonSharing } from "./daemon-sharing.js";
import { memoryBenchmark } from "./memory.js";
import { proxyOverhead } from "./proxy-overhead.js";

/** `npm run bench`: runs every benchmark and prints Markdown for docs/benchmarks.md. */
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
console.log(`Machine: ${machine}\n`);
const only = process.argv[2];
if (only === "--compare") {
  const { compareAlternatives } = await import("./compare.js");
  const charts = fileURLToPath(new URL("../../docs/charts/", import.meta.url));
  mkdirSync(charts, { recursive: true });
  console.log(`${await compareAlternatives(charts)}\n`);
  process.exit(0);
}
if (!only || only === "proxy") console.log(`${await proxyOverhead()}\n`);
if (!only || only === "start") {
  const { sessionStart } = await import("./session-start.js");
  console.log(`${await sessionStart()}\n`);
}
if (!only || only === "daemon") console.log(`${await daemonSharing()}\n`);
if (!only || only === "memory") console.log(`${await memoryBenchmark()}\n`);
if (!only || only === "page") {
  const { statusPageBenchmark } = await import("./status-page.js");
  console.log(`${await statusPageBenchmark()}\n`);
}
