#!/usr/bin/env node
import { Command } from "commander";
import { ConfigError, loadConfig } from "../config/load.js";
import { homeDir } from "../config/paths.js";
import { VERSION } from "../version.js";
import { inspectDaemon } from "./daemon-state.js";
import { renderStatus } from "./status-table.js";

const program = new Command("mcp-manager")
  .description("Start, stop and inspect the shared MCP daemons of mcp-session-manager")
  .version(VERSION)
  .option("--config <file>", "config file (default: <home>/config.json)");
const configOption = () => program.opts<{ config?: string }>().config;

program
  .command("status")
  .description("show every configured server: its daemon's state, pid, URL and log file")
  .option("--json", "machine-readable output")
  .action(async (options: { json?: boolean }) => {
    const config = loadConfig(configOption());
    const home = homeDir();
    const reports = await Promise.all(Object.values(config.servers).map((server) => inspectDaemon(server, home)));
    if (options.json) {
      process.stdout.write(JSON.stringify({ config: config.file ?? null, home, daemons: reports }, null, 2) + "\n");
      return;
    }
    process.stdout.write(renderStatus(config, home, reports));
  });

program
  .command("daemon <name>")
  .description("host the stdio server NAME for every session (started by mcp-proxy when needed)")
  .action(async (name: string) => {
    const { runDaemon } = await import("../daemon/main.js");
    await runDaemon(name, configOption());
  });

const memory = program
  .command("memory")
  .description("the built-in knowledge-graph memory server (normally run by the daemon: mcp-proxy --target memory)")
  .option("--stdio", "serve one client over stdin/stdout, without a daemon")
  .option("--project <dir>", "project whose .claude/memory.db to use (default: CLAUDE_PROJECT_DIR or the working directory)")
  .action(async (options: { stdio?: boolean; project?: string }) => {
    if (!options.stdio) throw new Error("memory needs --stdio, import or export; through the daemon, connect with: mcp-proxy --target memory");
    const { runMemoryStdio } = await import("../memory/stdio.js");
    await runMemoryStdio(options.project);
  });

/** `--project` is read by whichever of `memory` and its subcommand commander gave it to. */
const projectOption = (options: { project?: string }) => options.project ?? memory.opts<{ project?: string }>().project;

memory
  .command("import <file>")
  .description("merge a JSONL file of the official memory server into the project's database (safe to repeat)")
  .option("--project <dir>", "project whose .claude/memory.db to import into (default: CLAUDE_PROJECT_DIR or the working directory)")
  .action(async (file: string, options: { project?: string }) => {
    const { importJsonl } = await import("../memory/transfer.js");
    process.stdout.write(`${importJsonl(file, projectOption(options))}\n`);
  });

memory
  .command("export [file]")
  .description("write the project's graph as JSONL, the official memory server's format (to stdout without a file)")
  .option("--project <dir>", "project whose .claude/memory.db to export (default: CLAUDE_PROJECT_DIR or the working directory)")
  .action(async (file: string | undefined, options: { project?: string }) => {
    const { exportJsonl } = await import("../memory/transfer.js");
    const report = exportJsonl(file, projectOption(options));
    if (report) process.stderr.write(`${report}\n`);
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `mcp-manager: ${(error as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
