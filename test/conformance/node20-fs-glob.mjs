// Lets the conformance CLI load on Node 20: it imports fs.globSync (Node 22+) at the top level, though only its
// `tier-check` command calls it. Registered with `node --import`; every other module sees the real fs.
import { register } from "node:module";

if (!("globSync" in (await import("node:fs")))) {
  register(
    "data:text/javascript," +
      encodeURIComponent(`
        export async function resolve(specifier, context, next) {
          if ((specifier === "fs" || specifier === "node:fs") && context.parentURL?.includes("@modelcontextprotocol/conformance")) {
            return { url: "msm-shim:fs", shortCircuit: true };
          }
          return next(specifier, context);
        }
        export async function load(url, context, next) {
          if (url !== "msm-shim:fs") return next(url, context);
          return {
            format: "module",
            shortCircuit: true,
            source: 'import fs from "node:fs"; export * from "node:fs"; export default fs;' +
              'export function globSync() { throw new Error("fs.globSync needs Node 22 (only tier-check uses it)"); }',
          };
        }`),
  );
}
