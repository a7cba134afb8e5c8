import { accessSync, constants, existsSync, readdirSync, statSync } from "node:fs";
import { basename, isAbsolute, join } from "node:path";
import { loadConfig } from "../config/load.js";
import { ConfigError } from "../config/config-error.js";
import { canBeUnixSocket, configPath, lockPath, sessionSocketPath, tokenPath } from "../config/paths.js";
import type { Config } from "../config/server-config.js";
import type { ServerConfig } from "../config/server-config.js";
import { addressFrom } from "../runtime/daemon-address.js";
import { probeDaemon, restartsSoFar, troubledChild } from "../runtime/daemon-health.js";
import { describePortOwner, portOwner } from "../process/port-owner.js";
import { ChildRegistry } from "../runtime/child-registry.js";
import { findCommand } from "../process/find-command.js";
import { fixedDaemonUrl, isRemote, portHeldHere, shownUrl } from "../config/server-config.js";
import { isHolderAlive, readLock } from "../runtime/lock-file.js";
import { pingManager } from "../runtime/manager-client.js";
import { isListening } from "../runtime/port-probe.js";
import { readStopped } from "../runtime/stop-marker.js";

export type Verdict = "ok" | "note" | "warn" | "FAIL";

export interface Finding {
  verdict: Verdict;
  what: string;
  /** What to do about it, for anything not ok. */
  fix?: string;
}

/**
 * `mcp-manager doctor`: checks what usually goes wrong (Node version, config, permissions, ports taken by
 * strangers, stale locks, commands that are not installed) and says what to do about each.
 */
export async function diagnose(configFile: string | undefined, home: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (verdict: Verdict, what: string, fix?: string) => findings.push(fix ? { verdict, what, fix } : { verdict, what });

  const major = Number(process.versions.node.split(".")[0]);
  if (major >= 20) add("ok", `Node.js ${process.versions.node}`);
  else add("FAIL", `Node.js ${process.versions.node} is too old`, "install Node.js 20 or newer");

  checkHome(home, add);

  let config: Config;
  try {
    config = loadConfig(configFile);
  } catch (error) {
    const message = (error as Error).message;
    const file = configFile ?? configPath(home);
    const problem = error instanceof ConfigError ? error.problem : "unreadable";
    const fix = {
      unreadable: `make ${file} readable by this user, or name another with --config`,
      syntax: `fix the JSON syntax of ${file} where the message says (a missing comma, quote or brace, usually)`,
      content: `fix ${file}: the message names each key and what it needs`,
    }[problem];
    add("FAIL", message, fix);
    return findings;
  }
  const count = Object.keys(config.servers).length;
  add("ok", `config ${config.file ?? "(none: the embedded defaults)"}: ${count} server${count === 1 ? "" : "s"}`);

  const manager = await pingManager(config.manager.port, home);
  if (manager) add("ok", `manager running (pid ${manager.pid}, http://127.0.0.1:${manager.port})`);
  else if (await isListening(new URL(`http://127.0.0.1:${config.manager.port}`))) {
    add(
      "FAIL",
      `manager port ${config.manager.port} is taken by ${describePortOwner(config.manager.port)}, which is not this home's manager`,
      `stop that process, or set "manager": {"port": N} in the config`,
    );
  } else add("note", `manager not running (proxies start daemons themselves)`, "for supervision and restarts: mcp-manager start --detach");

  for (const server of Object.values(config.servers)) await checkServer(server, home, add);

  if (hostsMemory(config)) {
    try {
      // The package's JavaScript loads without its native part; opening a database loads that too.
      const { default: Database } = await import("better-sqlite3");
      new Database(":memory:").close();
      add("ok", "better-sqlite3 loads (built-in memory server)");
    } catch (error) {
      add("FAIL", `better-sqlite3 does not load: ${(error as Error).message}`, "reinstall the package (npm rebuild better-sqlite3)");
    }
  }
  return findings;
}

type Add = (verdict: Verdict, what: string, fix?: string) => void;

function checkHome(home: string, add: Add): void {
  if (!existsSync(home)) return add("note", `home ${home} does not exist yet`, "it is created on first use");
  if (process.platform !== "win32") {
    const mode = statSync(home).mode & 0o777;
    if (mode & 0o077) add("warn", `home ${home} is readable by others (mode ${mode.toString(8)})`, `chmod 700 ${home}`);
    else add("ok", `home ${home} (mode 700)`);
    const token = tokenPath(home);
    if (existsSync(token) && statSync(token).mode & 0o077) {
      add("warn", `${token} is readable by others`, "start the manager again: it replaces a token others could read");
    }
  }
  try {
    accessSync(home, constants.W_OK);
  } catch {
    add("FAIL", `home ${home} is not writable`, `make it writable by you, or set MCP_SESSION_MANAGER_HOME`);
  }
  const leftovers = readdirSync(home).filter((file) => file.endsWith(".tmp"));
  if (leftovers.length) add("note", `${leftovers.length} leftover temporary file(s) in ${home}`, "harmless; they can be deleted");
}

async function checkServer(server: ServerConfig, home: string, add: Add): Promise<void> {
  const name = server.name;
  if (server.disabled) return add("note", `${name}: disabled in the config`);
  if (isRemote(server)) {
    if (await isListening(new URL(server.url))) add("ok", `${name}: remote ${shownUrl(server.url)} answers`);
    else add("warn", `${name}: remote ${shownUrl(server.url)} does not answer`, "start that server; mcp-manager only relays to it");
  }
  if (server.kind === "hosted" || server.kind === "spawned") {
    if (!findCommand(server.command, server.env.PATH)) {
      add("FAIL", `${name}: command "${server.command}" is not found`, `install it, or give its absolute path in "command"`);
    }
    if (server.cwd && !existsSync(server.cwd)) add("FAIL", `${name}: cwd ${server.cwd} does not exist`, `create it or fix "cwd"`);
    const script = scriptOf(server.command, server.args, server.cwd);
    if (script && !existsSync(script))
      add("FAIL", `${name}: ${server.command} would run ${script}, which does not exist`, `build or install it, or fix "args"`);
  }
  const stopped = readStopped(name, home);
  if (stopped) add("note", `${name}: stopped on purpose (${stopped.by}, ${stopped.at})`, `mcp-manager start ${name}`);

  const held = portHeldHere(server);
  const lock = readLock(lockPath(name, home));
  const holderAlive = lock !== undefined && isHolderAlive(lock);
  if (lock && !holderAlive)
    add("note", `${name}: stale lock ${lockPath(name, home)} (pid ${lock.pid} is gone)`, "nothing: it is replaced at the next start");
  if (holderAlive && lock.url) {
    const answering = await probeDaemon(addressFrom({ ...lock, url: lock.url }), name, home, { pid: lock.pid });
    const troubled = answering ? troubledChild(answering) : undefined;
    if (troubled?.state === "failed")
      add(
        "FAIL",
        `${name}: the daemon runs (pid ${lock.pid}) but its server failed: ${troubled.lastError ?? "see the log"}`,
        `read mcp-manager logs ${name}, fix the cause, then: mcp-manager start ${name}`,
      );
    else if (troubled)
      add(
        "warn",
        `${name}: the daemon runs (pid ${lock.pid}) but its server exited and waits to be restarted ` +
          `(${restartsSoFar(troubled)}): ${troubled.lastError ?? "see the log"}`,
        `read mcp-manager logs ${name}; a server that keeps exiting is given up on after a few tries`,
      );
    else if (answering) {
      add("ok", `${name}: daemon running (pid ${lock.pid}, ${lock.url})`);
      checkSessionSocket(name, lock.sessionSocket, home, add);
    } else add("warn", `${name}: daemon pid ${lock.pid} runs but does not answer at ${lock.url}`, `mcp-manager restart ${name}`);
  } else if (held && (await isListening(new URL(held.url)))) {
    // Our daemon may be there without its lock where it listens on the configured port; an HTTP server's port is its own.
    const fixed = fixedDaemonUrl(server);
    const ours = fixed ? await probeDaemon({ url: new URL(fixed.url) }, name, home) : undefined;
    const owner = ours ? undefined : portOwner(held.port);
    const holder = owner?.pid;
    if (ours) add("warn", `${name}: daemon running (pid ${ours.pid}) without its lock file`, "nothing: it recreates the lock within 10 s");
    else if (holder !== undefined && ChildRegistry.leftBehind(join(home, `${name}.children`), holder))
      add(
        "warn",
        `${name}: its server (pid ${holder}) still holds port ${held.port}, left running by a daemon that was killed`,
        `nothing: the next start stops it first; or now: mcp-manager stop ${name}`,
      );
    else
      add(
        "FAIL",
        `${name}: port ${held.port} is taken by ${describePortOwner(held.port, owner)}, which is not ${fixed ? "this home's daemon" : "a server this home's daemon started"}`,
        `stop that process, or change "port" for "${name}"`,
      );
  } else if (!holderAlive)
    add("ok", `${name}: not running; ${held ? `port ${held.port} is free` : "its daemon takes a free port when it starts"}`);
}

/** Proxies reach our daemons fastest through the session socket; say why one of them cannot. */
function checkSessionSocket(name: string, socket: string | undefined, home: string, add: Add): void {
  const slower = "proxies reach it over HTTP, which takes about twice as long per call";
  if (process.platform === "win32") return;
  if (!canBeUnixSocket(sessionSocketPath(name, home))) {
    return add(
      "note",
      `${name}: ${slower}: ${sessionSocketPath(name, home)} is too long for a Unix socket`,
      "set MCP_SESSION_MANAGER_HOME to a shorter path",
    );
  }
  if (!socket) return add("note", `${name}: ${slower}: the daemon is of an older version`, `mcp-manager restart ${name}`);
  if (!existsSync(socket)) add("warn", `${name}: ${slower}: its session socket ${socket} was removed`, `mcp-manager restart ${name}`);
}

function hostsMemory(config: Config): boolean {
  return Object.values(config.servers).some((server) => server.kind === "builtin" && server.builtin === "memory" && !server.disabled);
}

export function renderFindings(findings: Finding[]): string {
  const lines = findings.map((finding) => `${finding.verdict.padEnd(4)}  ${finding.what}${finding.fix ? `\n      -> ${finding.fix}` : ""}`);
  const failures = findings.filter((finding) => finding.verdict === "FAIL").length;
  const warnings = findings.filter((finding) => finding.verdict === "warn").length;
  lines.push("", failures ? `${failures} problem(s) to fix.` : warnings ? `No problems; ${warnings} warning(s).` : "No problems found.");
  return lines.join("\n") + "\n";
}

/** Interpreters whose first argument that is not an option is the script they run. */
const INTERPRETERS = /^(node|nodejs|bun|deno|tsx|ts-node|python|python3(\.\d+)?|ruby|php)(\.exe)?$/;

/** The script file an interpreter command runs, resolved against its cwd, when the command names one. */
export function scriptOf(command: string, args: string[], cwd: string | undefined): string | undefined {
  if (!INTERPRETERS.test(basename(command))) return undefined;
  const first = args.find((arg) => !arg.startsWith("-"));
  // A bare word (a module name for `python -m`, a deno subcommand) is not a file; a path with a suffix is.
  if (!first || !/[/\\]|\.(c|m)?(j|t)s$|\.py$|\.rb$|\.php$/.test(first) || args.includes("-m") || args.includes("-e")) return undefined;
  return isAbsolute(first) ? first : cwd ? join(cwd, first) : undefined;
}
