#!/usr/bin/env node
// `node dist/daemon/index.js [--config FILE] NAME`: one daemon, as starters spawn it, with --expose-gc
// (runtime/entry-points.ts); `mcp-manager daemon NAME` does the same from the command line. Its own small script:
// a session that starts a daemon waits for this start, and the manager's command line (commander and every
// command's code) is no part of it.
import { resolve } from "node:path";

function daemonArguments(args: string[]): { name: string; configFile?: string } {
  const [first, second, third, ...rest] = args;
  if (first === "--config" && second !== undefined && third !== undefined && rest.length === 0) {
    return { name: third, configFile: resolve(second) };
  }
  if (first !== undefined && !first.startsWith("-") && second === undefined) return { name: first };
  throw new Error(`usage: daemon [--config FILE] NAME (got: ${args.join(" ") || "nothing"})`);
}

import("./main.js")
  .then(({ runDaemon }) => {
    const { name, configFile } = daemonArguments(process.argv.slice(2));
    return runDaemon(name, configFile);
  })
  .catch((error: unknown) => {
    process.stderr.write(`mcp-manager daemon: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
