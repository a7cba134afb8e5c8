import { cpus, totalmem } from "node:os";
import { proxyOverhead } from "./proxy-overhead.js";

/** `npm run bench`: runs every benchmark and prints Markdown for docs/benchmarks.md. */
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
console.log(`Machine: ${machine}\n`);
console.log(await proxyOverhead());
