#!/usr/bin/env node
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { loadConfig } from "../config/load.js";
import { ConfigError } from "../config/config-error.js";
import { configPath, ensureHome, homeDir, logPath, managerLockPath, managerLogPath } from "../config/paths.js";
import { DEFAULT_MANAGER_SETTINGS } from "../config/manager-settings.js";
import { findServer, type Config } from "../config/server-config.js";
import { readLock } from "../runtime/lock-file.js";
import { VERSION } from "../version.js";
import type { DaemonReport } from "./daemon-state.js";
import type { AddOptions } from "./server-list.js";
import type { ReloadOutcome } from "./config-reload.js";

const program = new Command("mcp-manager")
  .description("Start, stop, watch and inspect the shared MCP daemons of mcp-session-manager")
  .version(VERSION)
  .option("--config <file>", "config file (default: <home>/config.json)")
  .option("--start-all", "same as: mcp-manager start --start-all")
  .option("--detach", "with --start-all: same as mcp-manager start --start-all --detach")
  .showHelpAfterError();
const configOption = () => {
  const file = program.opts<{ config?: string }>().config;
  return file === undefined ? undefined : resolve(file); // daemons started from here run in other directories
};
const say = (text: string): void => {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
};
const quietLog = () => {};

/** `mcp-manager --start-all [--detach]`, as users of earlier versions know it: the same as `start --start-all`. */
program.action(async (options: { startAll?: boolean; detach?: boolean }) => {
  if (!options.startAll) return program.help();
  await startManagerCommand(true, Boolean(options.detach));
});

program
  .command("start [names...]")
  .description("run the manager (API, supervision) in the foreground; with NAMES or --all, start those daemons instead")
  .option("--start-all", "start every configured daemon when the manager starts")
  .option("--all", "start every configured daemon now (through the manager if it runs)")
  .option("--detach", "run the manager in the background and return once it answers")
  .action(async (names: string[], options: { startAll?: boolean; all?: boolean; detach?: boolean }) => {
    if (options.all && names.length) throw new Error("give NAMES or --all, not both");
    if (options.all) {
      const { startableNames } = await import("./control.js");
      return controlAndReport("start", startableNames(await configToControl()));
    }
    if (names.length) return controlAndReport("start", names);
    const startAll = Boolean(options.startAll || program.opts<{ startAll?: boolean }>().startAll);
    const detach = Boolean(options.detach || program.opts<{ detach?: boolean }>().detach);
    await startManagerCommand(startAll, detach);
  });

/** The manager in the foreground (with the first-run banner) or detached; if one runs already, its status. */
async function startManagerCommand(startAll: boolean, detach: boolean): Promise<void> {
  const config = loadConfig(configOption());
  const home = ensureHome();
  const { pingManager, callManager } = await import("../runtime/manager-client.js");
  const running = await pingManager(config.manager.port, home);
  if (running) {
    // Starting what runs is not an error: say so, and show what it supervises.
    say(`the manager already runs (pid ${running.pid}, http://127.0.0.1:${running.port})`);
    if (startAll) await callManager(running, "/start-all", { body: {}, timeoutMs: 120_000 });
    if (!detach) await showStatus(false);
    return;
  }
  if (!detach) {
    const { runManager } = await import("./run-manager.js");
    const { renderStatus } = await import("./status-table.js");
    return runManager({
      startAll,
      ...withConfig(),
      onReady: (reports, identity) => {
        say(
          `mcp-session-manager is running: manager pid ${identity.pid}, API http://127.0.0.1:${identity.port} (Ctrl-C stops it and the daemons it started)\n`,
        );
        process.stdout.write(renderStatus(config, home, reports, identity));
      },
    });
  }
  const { startDetached } = await import("./detach.js");
  const identity = await startDetached(config, home, startAll);
  say(`manager running in the background (pid ${identity.pid}, API http://127.0.0.1:${identity.port}, log ${managerLogPath(home)})`);
}

program
  .command("stop [names...]")
  .description("stop daemons (proxies will not start them again until mcp-manager start NAME)")
  .option("--all", "stop every daemon")
  .option("--manager", "stop the manager (it stops the daemons it started)")
  .action(async (names: string[], options: { all?: boolean; manager?: boolean }) => {
    if (!names.length && !options.all && !options.manager) throw new Error("name the daemons to stop, or give --all or --manager");
    if (names.length || options.all) {
      const { startableNames } = await import("./control.js");
      await controlAndReport("stop", options.all ? startableNames(await configToControl()) : names);
    }
    if (options.manager) {
      const { stopManager } = await import("./stop-manager.js");
      say(await stopManager(configOrWhatRuns(), ensureHome()));
    }
  });

program
  .command("restart <names...>")
  .description("replace daemons gracefully: calls in flight finish on the old one while the new one serves (also lifts a failed state)")
  .action((names: string[]) => controlAndReport("restart", names));

program
  .command("reload")
  .description("apply config.json to the running manager now (it also does when the file changes): added, changed, removed")
  .action(async () => {
    const config = configOrWhatRuns(false);
    const { callManager, pingManager } = await import("../runtime/manager-client.js");
    const manager = await pingManager(config.manager.port, homeDir());
    if (!manager) {
      if (config.broken) throw new Error(`${config.broken}; the manager is not running either`);
      return say("the manager is not running: the config is read when it starts, and by each proxy as it connects");
    }
    const answer = await callManager(manager, "/reload", { body: {}, timeoutMs: 120_000 });
    const { describeReload } = await import("./config-reload.js");
    const outcome = answer.body as ReloadOutcome;
    if (answer.status !== 200 && answer.status !== 422) throw new Error(`the manager did not reload: ${JSON.stringify(answer.body)}`);
    (outcome.error ? process.stderr : process.stdout).write(`${describeReload(outcome)}\n`);
    if (outcome.error) process.exitCode = 1;
  });

program
  .command("status")
  .description("every configured server: state, pid, port, uptime, restarts, sessions, last error")
  .option("--json", "machine-readable output")
  .action((options: { json?: boolean }) => showStatus(Boolean(options.json)));

program
  .command("upgrade")
  .description("move the manager and every daemon to this installed version without losing a call (after npm install -g)")
  .action(async () => {
    const { upgrade } = await import("./upgrade.js");
    for (const line of await upgrade(loadConfig(configOption()), ensureHome(), quietLog)) say(line);
  });

program
  .command("open")
  .description("open the live status page in the default browser, logged in with a one-time link (valid for a minute)")
  .option("--print", "print the link instead of opening a browser")
  .action(async (options: { print?: boolean }) => {
    const config = configOrWhatRuns();
    const { callManager, pingManager } = await import("../runtime/manager-client.js");
    const proven = await pingManager(config.manager.port, homeDir());
    if (!proven) throw new Error(`the manager does not run (port ${config.manager.port}); start it with: mcp-manager start --detach`);
    const answer = await callManager(proven, "/login-link", { body: {}, timeoutMs: 10_000 });
    const { url } = answer.body as { url: string };
    if (options.print) return say(url);
    const { openInBrowser } = await import("./open-browser.js");
    const opened = await openInBrowser(url, homeDir());
    say(
      opened
        ? `opened the status page in your browser (the link works once, for a minute)`
        : `open this link in your browser within a minute (it works once):\n${url}`,
    );
  });

program
  .command("logs [name]")
  .description("show a daemon's log (<home>/<name>.log; 'manager' for the manager's own); without NAME, list the logs")
  .option("-f, --follow", "keep printing what is appended")
  .option("-n, --lines <count>", "how many lines from the end", "100")
  .action(async (name: string | undefined, options: { follow?: boolean; lines: string }) => {
    if (name === undefined) {
      const { listLogs } = await import("./log-viewer.js");
      return say(listLogs(loadConfig(configOption()), homeDir()));
    }
    const lines = Number(options.lines);
    if (!Number.isInteger(lines) || lines < 0) throw new Error(`--lines needs a whole number, not "${options.lines}"`);
    const config = configOrWhatRuns();
    // With the config broken, a log is still found by its name: that is when it is needed most.
    const known = name === "manager" || !config.broken ? undefined : name;
    const file = name === "manager" ? managerLogPath(homeDir()) : logPath(known ?? findServer(config, name).name, homeDir());
    const { showLog } = await import("./log-viewer.js");
    await showLog(file, lines, Boolean(options.follow), (text) => process.stdout.write(text));
  });

program
  .command("doctor")
  .description("check the config, ports, locks, permissions and commands, and say what to do")
  .action(async () => {
    const { diagnose, renderFindings } = await import("./doctor.js");
    const findings = await diagnose(configOption(), homeDir());
    process.stdout.write(renderFindings(findings));
    if (findings.some((finding) => finding.verdict === "FAIL")) process.exitCode = 1;
  });

program
  .command("generate-config")
  .description('print the {"mcpServers": ...} block that reaches every configured server through mcp-proxy')
  .option("--write [file]", "write it to FILE (default: ~/.claude/mcp.json, for: claude --mcp-config FILE)")
  .action(async (options: { write?: string | true }) => {
    const { defaultGeneratedPath, generateConfig, writeGenerated } = await import("../clients/generate-config.js");
    const generated = generateConfig(loadConfig(configOption()));
    if (options.write === undefined) return say(JSON.stringify(generated, null, 2));
    const file = resolve(options.write === true ? defaultGeneratedPath() : options.write);
    writeGenerated(file, generated);
    const count = Object.keys(generated.mcpServers).length;
    say(`wrote ${file} (${count} server${count === 1 ? "" : "s"} through mcp-proxy)`);
    say(`use it with: claude --mcp-config ${file}`);
    say("(Claude Code does not read that file by itself; to put the servers into Claude Code: mcp-manager install --client claude-code)");
  });

program
  .command("add <name> [command...]")
  .usage("NAME [options] -- COMMAND [ARGS...]   or   NAME --url URL [--transport KIND]")
  .description("add a server to the config (comments and layout kept); then reach it with mcp-proxy --target NAME")
  .option("--url <url>", "a server already running somewhere (http or https), instead of a command")
  .option("--scope <scope>", "a stdio server: shared (one child), project (one per project) or session (one per session)")
  .option(
    "--transport <transport>",
    "how the server speaks: stdio (default for a command), streamable-http (default for --url), sse or http (plain JSON POST)",
  )
  .option("--port <port>", "where a server that speaks HTTP listens")
  .option("--env <KEY=VALUE>", "an environment variable for the server (repeatable)", (pair: string, all: string[]) => [...all, pair], [])
  .option("--cwd <dir>", "the server's working directory")
  .action(async (name: string, command: string[], options: AddOptions) => {
    const { addServer } = await import("./server-list.js");
    const { configPath } = await import("../config/paths.js");
    ensureHome();
    say(addServer(configOption() ?? configPath(), name, command, options));
  });

program
  .command("remove <name>")
  .description("stop a server's daemon and take the server out of the config")
  .action(async (name: string) => {
    const config = loadConfig(configOption());
    const server = findServer(config, name);
    if (!config.file)
      throw new Error(`"${name}" is an embedded default; there is no config file to remove it from (disable it with "disabled": true)`);
    const { control } = await import("./control.js");
    const { clearStopped } = await import("../runtime/stop-marker.js");
    const home = ensureHome();
    const [stopped] = await control("stop", [server.name], config, home, quietLog);
    if (stopped && !stopped.ok) throw new Error(stopped.line);
    clearStopped(server.name, home); // a server added again later under this name starts as any new one
    const { removeServer } = await import("./server-list.js");
    say(removeServer(config.file, server.name));
  });

program
  .command("list")
  .description("the configured servers: kind, sharing scope, port, command (from the config alone; status shows what runs)")
  .action(async () => {
    const { listServers } = await import("./server-list.js");
    process.stdout.write(listServers(loadConfig(configOption())));
  });

for (const action of ["install", "uninstall"] as const) {
  const command = program
    .command(action)
    .description(
      action === "install"
        ? "import a client's stdio servers into the config and make its entries go through mcp-proxy (backed up; safe to repeat)"
        : "put back a client's entries exactly as they were before install",
    )
    .option("--client <client>", "claude-code, claude-desktop, cursor, vscode or codex")
    .option(
      "--scope <scope>",
      "user, local (Claude Code: one project's servers in ~/.claude.json) or project (the project's own file); " +
        "default: Claude Code everywhere it keeps servers, other clients user",
    )
    .option("--project <dir>", "the project for --scope local or project (default: every local project; the working directory)")
    .option("--dry-run", "show what would change, write nothing");
  // Each command lists only the options it takes; both accept the other's, to refuse it with a sentence.
  if (action === "install") command.option("--http", "also route HTTP servers the client reaches directly through mcp-proxy");
  else command.option("--all", "every client file install changed, autostart, the manager and the daemons");
  command.addOption(new Option(action === "install" ? "--all" : "--http").hideHelp());
  command.action(
    async (options: { client?: string; scope?: string; project?: string; dryRun?: boolean; http?: boolean; all?: boolean }) => {
      if (options.http && action === "uninstall") throw new Error("--http is for install; uninstall puts back every entry install changed");
      if (options.all) {
        if (action === "install") throw new Error("install takes --client; --all is for uninstall");
        if (options.client) throw new Error("give --client or --all, not both");
        const { uninstallAll } = await import("./uninstall-all.js");
        return say(await uninstallAll(loadConfig(configOption()), ensureHome(), configOption(), Boolean(options.dryRun)));
      }
      const { CLIENTS, INSTALL_SCOPES, isInstallScope } = await import("../clients/client-locations.js");
      if (options.client === undefined)
        throw new Error(`${action} needs --client (${CLIENTS.join(", ")})${action === "uninstall" ? " or --all" : ""}`);
      if (!(CLIENTS as readonly string[]).includes(options.client))
        throw new Error(`unknown client "${options.client}" (use one of ${CLIENTS.join(", ")})`);
      const scope = options.scope;
      if (scope !== undefined && !isInstallScope(scope)) throw new Error(`--scope is ${INSTALL_SCOPES.join(", ")}, not "${scope}"`);
      const { install, uninstall } = await import("../clients/install.js");
      const common = {
        client: options.client as (typeof CLIENTS)[number],
        scope,
        projectDir: options.project === undefined ? undefined : resolve(options.project),
        dryRun: Boolean(options.dryRun),
        http: Boolean(options.http),
        home: ensureHome(),
      };
      const { configPath } = await import("../config/paths.js");
      process.stdout.write(action === "install" ? install({ ...common, configFile: configOption() ?? configPath() }) : uninstall(common));
    },
  );
}

program
  .command("autostart <action>")
  .description("install or uninstall starting the manager at login (systemd user unit, launchd agent, Windows recipe)")
  .option("--dry-run", "show what would be written")
  .action(async (action: string, options: { dryRun?: boolean }) => {
    if (action !== "install" && action !== "uninstall") throw new Error(`autostart takes install or uninstall, not "${action}"`);
    const { autostart, autostartSpec } = await import("./autostart.js");
    process.stdout.write(autostart(action, autostartSpec(configOption()), ensureHome(), Boolean(options.dryRun)));
  });

program
  .command("daemon <name>")
  .description("host the server NAME for every session (started by mcp-proxy or the manager when needed)")
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
    if (!options.stdio)
      throw new Error("memory needs --stdio, import or export; through the daemon, connect with: mcp-proxy --target memory");
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
    say(importJsonl(file, projectOption(options)));
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

async function showStatus(json: boolean): Promise<void> {
  const config = configOrWhatRuns();
  const home = homeDir();
  const { callManager, pingManager } = await import("../runtime/manager-client.js");
  const proven = await pingManager(config.manager.port, home);
  let reports: DaemonReport[];
  let configError: string | undefined;
  let managerReport: Record<string, unknown> | undefined;
  if (proven) {
    const answer = await callManager(proven, "/status", { method: "GET", timeoutMs: 10_000 });
    const body = answer.body as { daemons: DaemonReport[]; manager?: { configError?: string | null } & Record<string, unknown> };
    reports = body.daemons;
    managerReport = body.manager;
    configError = body.manager?.configError ?? undefined;
    // Outdated as this command sees it: a manager of another version judged by its own.
    const { isOlderThanThis } = await import("../runtime/version-order.js");
    for (const report of reports) report.outdated = report.version !== undefined && isOlderThanThis(report.version) ? true : undefined;
  } else {
    const { inspectDaemon } = await import("./daemon-state.js");
    reports = await Promise.all(Object.values(config.servers).map((server) => inspectDaemon(server, home)));
  }
  // The credential stays in this process: it is worth nothing to another instance, but it is not status either.
  const manager = proven && {
    service: proven.service,
    role: proven.role,
    version: proven.version,
    pid: proven.pid,
    home: proven.home,
    port: proven.port,
  };
  if (json)
    return say(
      JSON.stringify(
        {
          config: config.file ?? null,
          configError: configError ?? null,
          home,
          manager: managerReport ?? manager ?? null,
          daemons: reports,
        },
        null,
        2,
      ),
    );
  const { renderStatus } = await import("./status-table.js");
  process.stdout.write(renderStatus(config, home, reports, manager, configError));
}

function withConfig(): { configFile?: string } {
  const file = configOption();
  return file ? { configFile: file } : {};
}

async function controlAndReport(action: "start" | "stop" | "restart", names: string[]): Promise<void> {
  const { control } = await import("./control.js");
  const results = await control(action, names, await configToControl(), ensureHome(), quietLog);
  for (const result of results) (result.ok ? process.stdout : process.stderr).write(`${result.line}\n`);
  if (results.some((result) => !result.ok)) process.exitCode = 1;
}

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `mcp-manager: ${(error as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});

/**
 * The config that start, stop and restart act on: while the file does not load, its last good config, which the
 * manager keeps in force too; the error is said first. Fixing a server must not wait for fixing the file.
 */
async function configToControl(): Promise<Config> {
  const { checkedOrLastGood } = await import("../config/checked-config.js");
  const { config, broken } = await checkedOrLastGood(configOption());
  if (broken) process.stderr.write(`${broken.message}\n(acting on the last good config of that file, as the manager does)\n`);
  return config;
}

/**
 * The config, or, when the file is broken, what is needed to reach what runs (the manager's port from its lock):
 * status, logs and stop --manager must work exactly when someone is fixing the file. The error is said first,
 * unless the caller reports it itself (reload: the manager's answer says it).
 */
function configOrWhatRuns(sayBroken = true): Config & { broken?: string } {
  try {
    return loadConfig(configOption());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (sayBroken) process.stderr.write(`${error.message}\n(the servers of that file are not shown until it is fixed; what runs is)\n`);
    const url = readLock(managerLockPath(homeDir()))?.url;
    const port = url ? Number(new URL(url).port) : DEFAULT_MANAGER_SETTINGS.port;
    return { manager: { ...DEFAULT_MANAGER_SETTINGS, port }, servers: {}, file: configOption() ?? configPath(), broken: error.message };
  }
}
