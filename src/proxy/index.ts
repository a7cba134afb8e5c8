#!/usr/bin/env node
// First thing that runs, before any import does work: a Ctrl-C sent to the client's whole process group
// (terminal, IDE) must not take this session's server down with it. This file has no static imports,
// because those are evaluated before the first line of the module.
process.on("SIGINT", () => {
  process.stderr.write(`${new Date().toISOString()} [mcp-proxy ${process.pid}] SIGINT ignored; the session goes on\n`);
});

import("./main.js").catch((error: unknown) => {
  process.stderr.write(`mcp-proxy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
