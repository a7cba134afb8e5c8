// Builds what the tests and benchmarks run into dist-test/: each TypeScript file of test/, bench/ and src/ as the
// JavaScript module it becomes, in the same layout (tests import the sources directly). Only a transform, file by
// file, in well under a second; the types are checked by `npm run lint` (tsc -p tsconfig.test.json) and
// by `npm run build`.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { URL } from "node:url";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;

/** The .ts files under `dir`, recursively; the browser page has its own build. */
function sources(dir) {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .filter((file) => !file.startsWith(join(root, "src/page/")));
}

rmSync(join(root, "dist-test"), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: [...sources("src"), ...sources("test"), ...sources("bench")],
  outdir: "dist-test",
  outbase: ".",
  bundle: false,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
});
// The probe server is started hundreds of times: as CommonJS it skips the ES module loader's start-up cost.
await build({
  absWorkingDir: root,
  entryPoints: ["test/fixtures/stdio-probe-server.ts"],
  outdir: "dist-test/test/fixtures",
  outExtension: { ".js": ".cjs" },
  platform: "node",
  format: "cjs",
  target: "node20",
  logLevel: "warning",
});
