// Builds the two commands from src/. A session's proxy and every daemon start by reading a few scripts instead of
// resolving some fifty modules one by one, which is most of what a warm session start costs beyond Node itself.
// Type checking is tsc's job (npm run build runs it first); this only transforms and joins.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { URL } from "node:url";
import { build } from "esbuild";

const root = new URL("..", import.meta.url);
const { version } = JSON.parse(await readFile(new URL("package.json", root), "utf8"));

const common = {
  absWorkingDir: new URL(".", root).pathname,
  outdir: "dist",
  bundle: true,
  platform: "node",
  // ES builds first: some packages' "main" is a UMD wrapper whose require() calls a bundler cannot follow.
  mainFields: ["module", "main"],
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  // A native addon cannot be joined into a script; it is loaded from node_modules where npm put it.
  external: ["better-sqlite3"],
  define: { PACKAGE_VERSION: JSON.stringify(version) },
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  logLevel: "warning",
};

const commonjs = {
  ...common,
  format: "cjs",
  banner: { js: '"use strict";\nconst __import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  define: { ...common.define, "import.meta.url": "__import_meta_url" },
};

/** Leaves imports of `filter` as they are: the module is built as a file of its own next to the importer. */
function separate(filter) {
  return { name: "separate", setup: (build) => build.onResolve({ filter }, (args) => ({ path: args.path, external: true })) };
}

rmSync(new URL("dist", root), { recursive: true, force: true });
await Promise.all([
  // The proxy runs once per session per server: one file, everything it can need. A daemon starts while a session
  // may be waiting for it: its own file too. Both are CommonJS: Node's ES module loader costs every start some
  // 30 ms of its own (measured on a 2-core machine), which a CommonJS script skips. Their folders say so
  // (package.json with "type": "commonjs"), so that `node dist/proxy/index.js` keeps working. The proxy's script
  // is held in memory by every session: without whitespace and comments it is 30% smaller and each proxy holds
  // 0.6 MiB less; names stay, so its stack traces still read.
  build({
    ...commonjs,
    minifyWhitespace: true,
    minifySyntax: true,
    entryPoints: { "proxy/index": "src/proxy/index.ts" },
  }),
  // The built-in memory server (SDK, zod, SQLite: most of the code) is a file of its own, loaded only by its daemon.
  build({ ...commonjs, entryPoints: { "daemon/index": "src/daemon/index.ts" }, plugins: [separate(/\/memory-backend\.js$/)] }),
  build({ ...commonjs, entryPoints: { "daemon/memory-backend": "src/daemon/memory-backend.ts" } }),
  // The manager's commands load their parts on demand (a daemon never loads the installer): those parts stay in
  // chunks, as deep in dist/ as the entries, so paths relative to a module (the other command) hold from either.
  build({
    ...common,
    entryPoints: { "manager/index": "src/manager/index.ts" },
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
  }),
  // The status page's script, for the browser: everything it needs is in the package, nothing comes from the network.
  build({
    ...common,
    platform: "browser",
    target: "es2022",
    banner: {},
    entryPoints: { "page/page": "src/page/main.ts" },
  }),
]);
for (const folder of ["proxy", "daemon"])
  writeFileSync(new URL(`dist/${folder}/package.json`, root), `${JSON.stringify({ type: "commonjs" })}\n`);
mkdirSync(new URL("dist/page", root), { recursive: true });
for (const file of ["index.html", "page.css"]) copyFileSync(new URL(`src/page/${file}`, root), new URL(`dist/page/${file}`, root));
