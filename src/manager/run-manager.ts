import { existsSync, fstatSync, readFileSync, statSync } from "node:fs";
import http from "node:http";
import { checkedConfig } from "../config/checked-config.js";
import { configPath, ensureHome, managerLockPath, managerLogPath } from "../config/paths.js";
import { isStartable, type Config, type ServerConfig } from "../config/server-config.js";
import { describeReload, diffServers, watchConfigFile, type ReloadOutcome } from "./config-reload.js";
import { createLog } from "../logging/log.js";
import { rotateLog } from "../logging/rotate.js";
import { ManagerApi } from "./api-server.js";
import { StatusPage } from "./status-page/page-routes.js";
import { statusSnapshot } from "./status-snapshot.js";
import { claimLock, lockRecord, readLock, removeLock, updateLock } from "../runtime/lock-file.js";
import { pingManager, type ManagerIdentity } from "../runtime/manager-client.js";
import type { DaemonReport } from "./daemon-state.js";
import { VERSION } from "../version.js";
import { SupervisedDaemon } from "./supervisor.js";
import { HeldToken } from "../runtime/home-token.js";
import { readStopped } from "../runtime/stop-marker.js";
import { installLastResort } from "../runtime/last-resort.js";
import { describePortOwner } from "../process/port-owner.js";
import { ListenerAuth } from "../runtime/listener-auth.js";

export interface ManagerOptions {
  configFile?: string;
  startAll: boolean;
  /** Called once the API answers and `--start-all` is done, with what the manager supervises. */
  onReady?: (reports: DaemonReport[], identity: ManagerIdentity) => void;
}

/**
 * `mcp-manager start`: the supervisor and its API on 127.0.0.1. Binding the port is the election: a second
 * manager for the same home finds the first and says so. Daemons it finds running are adopted; daemons it
 * starts are stopped with it (SIGINT, SIGTERM, SIGHUP); adopted ones keep running.
 */
export async function runManager(options: ManagerOptions): Promise<void> {
  // Checked as proxies check it, and recorded: what the CLI and new sessions fall back on while an edit does not load.
  let config = await checkedConfig(options.configFile);
  const home = ensureHome();
  // The log file, in the foreground too; a manager started with --detach has its stderr there already.
  const log = createLog(`manager ${process.pid}`, stderrIs(managerLogPath(home)) ? undefined : managerLogPath(home), {
    path: managerLogPath(home),
    rotation: { maxBytes: config.manager.logMaxBytes, keep: config.manager.logFiles },
  });
  installLastResort(log);
  const token = new HeldToken(home);
  const auth = new ListenerAuth(token, { role: "manager", name: "" });
  const port = config.manager.port;
  const startedAt = Date.now();
  const daemons = new Map<string, SupervisedDaemon>();
  const context = () => ({
    home,
    settings: config.manager,
    log,
    ...(options.configFile ? { configFile: options.configFile } : {}),
  });

  for (const server of Object.values(config.servers)) daemons.set(server.name, new SupervisedDaemon(server, context()));

  /**
   * Applies the config file as it is now: an added server is there at once, a changed one is restarted if it runs
   * (else it starts as written), a removed one is stopped; the others keep their process. A file that cannot be
   * used changes nothing: the last good config stays in force and the error is shown by status and doctor. It
   * runs when the file changes (watched, and compared at every supervision round), on `mcp-manager reload`, and
   * before every request that names a server, so what a request finds always matches the file.
   */
  let configError: string | undefined;
  let lastText = configText(options.configFile);
  const applyConfig = async (why: string): Promise<ReloadOutcome> => {
    const unchanged = { added: [], changed: [], removed: [] };
    // The same text as last applied: nothing to parse (every request that names a server comes through here).
    const text = configText(options.configFile);
    if (text === lastText && configError === undefined) return unchanged;
    lastText = text;
    let next: Config;
    try {
      // A file that was there and is gone is an edit in progress (editors save by renaming), not "no config".
      if (config.file && !existsSync(config.file)) throw new Error(`${config.file} is gone`);
      next = await checkedConfig(options.configFile);
    } catch (error) {
      const outcome = { ...unchanged, error: (error as Error).message };
      if (configError !== outcome.error) log(`${describeReload(outcome)} (${why})`);
      configError = outcome.error;
      return outcome;
    }
    configError = undefined;
    const outcome: ReloadOutcome = diffServers(config, next);
    if (JSON.stringify(config.manager) !== JSON.stringify(next.manager)) outcome.managerSettings = true;
    const before = config;
    config = next;
    for (const name of outcome.added) daemons.set(name, new SupervisedDaemon(next.servers[name]!, context()));
    const removed = outcome.removed.map((name) => [name, daemons.get(name)!] as const);
    for (const [name] of removed) daemons.delete(name);
    if (outcome.added.length + outcome.changed.length + outcome.removed.length || outcome.managerSettings)
      log(`${describeReload(outcome)} (${why})`);
    await Promise.all([
      ...outcome.changed.map((name) => applyChange(name, before.servers[name]!, next.servers[name]!)),
      ...removed.map(([name, daemon]) => daemon.stop(undefined).catch((error: Error) => log(`${name}: not stopped: ${error.message}`))),
    ]);
    return outcome;
  };
  /**
   * A changed entry: the daemon that runs is replaced under the new one (gracefully where it is ours: its calls
   * in flight finish), or stopped if it may not run any more (now disabled, or stopped by a user).
   */
  const applyChange = async (name: string, old: ServerConfig, updated: ServerConfig): Promise<void> => {
    const daemon = daemons.get(name)!;
    const running = !["stopped", "failed", "disabled"].includes(daemon.knownState());
    if (running && isStartable(updated) && !readStopped(name, home)) {
      log(`${name}: its entry changed: replacing its daemon`);
      await daemon
        .restart("its entry in the config file changed", updated)
        // Its supervisor has said what it does next (a port held by a stranger: wait for it; a crash: back off).
        .catch((error: Error) => log(`${name}: its new entry does not run yet: ${error.message}`));
      return;
    }
    if (running) await daemon.stop(undefined).catch((error: Error) => log(`${name}: not stopped: ${error.message}`));
    daemon.server = updated;
  };
  // One reload at a time, in order: a request waits for the one before it, restarts included, so it never acts
  // on a daemon that is being replaced.
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (why: string): Promise<ReloadOutcome> => {
    const next = reloading.then(() => applyConfig(why));
    reloading = next.catch(() => {});
    return next;
  };

  const control = {
    home,
    port,
    auth,
    startedAt,
    daemon: async (name: string) => (await reload("a request named a server"), daemons.get(name)),
    daemons: async () => (await reload("a request named a server"), [...daemons.values()]),
    known: () => [...daemons.values()],
    configFile: () => config.file,
    configError: () => configError,
    reload: () => reload("mcp-manager reload"),
    handOver: () => void stop("handing over to a manager of another version", { keepDaemons: true }),
  };
  const page = new StatusPage({ ...control, snapshot: () => statusSnapshot(control) });
  const api = new ManagerApi(control, page);
  const server = http.createServer((request, response) => api.handle(request, response));
  server.requestTimeout = 0; // `/ensure` and `/start` wait for a daemon's start-up
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    const other = await pingManager(port, home);
    throw new Error(
      other
        ? `the manager already runs (pid ${other.pid}, http://127.0.0.1:${port})`
        : `port ${port} is in use by ${describePortOwner(port)}, which is not this home's manager; stop it, or set "manager": {"port": N} in the config`,
      { cause: error },
    );
  }
  const lock = lockRecord({
    name: "manager",
    pid: process.pid,
    url: `http://127.0.0.1:${port}`,
    startedBy: process.pid,
    startedAt: new Date(startedAt).toISOString(),
  });
  updateLock(managerLockPath(home), lock);
  // Watched from the start: an edit made while the daemons come up counts too. A change the watcher misses (some
  // filesystems send no events) is found by comparing the text every few seconds.
  const unwatch = watchConfigFile(options.configFile ?? configPath(), () => void reload("the file changed"), log);
  const configCheck = setInterval(() => {
    if (configText(options.configFile) !== lastText) void reload("the file changed");
  }, CONFIG_CHECK_MS);
  log(`listening on http://127.0.0.1:${port} (config: ${config.file ?? "embedded defaults"}, home: ${home})`);

  // Daemons found running are adopted (and replaced, when of an earlier version) before any request that names a
  // server is served: what such a request finds (mcp-manager upgrade's among them) is then this manager's own.
  const adopted = Promise.all([...daemons.values()].map((daemon) => daemon.adopt()));
  reloading = reloading.then(() => adopted).catch(() => {});
  await adopted;
  if (options.startAll) await startAll(daemons, log);
  if (options.onReady) {
    const reports = await Promise.all([...daemons.values()].map((daemon) => daemon.report()));
    options.onReady(reports, { service: "mcp-session-manager", role: "manager", version: VERSION, pid: process.pid, home, port });
  }

  const tick = setInterval(() => {
    try {
      // A home deleted by hand comes back with our token, so proxies and the daemons keep agreeing with us.
      token.current(true);
      if (!readLock(managerLockPath(home))) claimLock(managerLockPath(home), lock);
      rotateLog(managerLogPath(home), { maxBytes: config.manager.logMaxBytes, keep: config.manager.logFiles });
    } catch (error) {
      log(`housekeeping failed (tried again at the next check): ${(error as Error).message}`);
    }
    for (const daemon of daemons.values())
      void daemon.check().catch((error: Error) => log(`${daemon.name}: check failed: ${error.message}`));
  }, config.manager.healthIntervalMs);

  let stopping = false;
  const stop = async (signal: string, options: { keepDaemons?: boolean } = {}) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${signal}): ${options.keepDaemons ? "leaving every daemon running" : "stopping the daemons this manager started"}`);
    if (options.keepDaemons) for (const daemon of daemons.values()) daemon.letGo();
    clearInterval(tick);
    clearInterval(configCheck);
    unwatch();
    page.close();
    server.close();
    server.closeAllConnections();
    await Promise.all(
      [...daemons.values()].map((daemon) => daemon.release().catch((error: Error) => log(`${daemon.name}: ${error.message}`))),
    );
    if (readLock(managerLockPath(home))?.pid === process.pid) removeLock(managerLockPath(home));
    log("stopped");
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void stop(signal));
}

async function startAll(daemons: Map<string, SupervisedDaemon>, log: (line: string) => void): Promise<void> {
  const startable = [...daemons.values()].filter((daemon) => isStartable(daemon.server));
  await Promise.all(
    startable.map((daemon) =>
      daemon.start().then(
        (address) => log(`${daemon.name}: up at ${address.url.href}`),
        (error: Error) => log(`${daemon.name}: not started: ${error.message}`),
      ),
    ),
  );
}

/** Whether this process's stderr is `file` (same device and inode). */
function stderrIs(file: string): boolean {
  try {
    const [err, log] = [fstatSync(2), statSync(file)];
    return err.dev === log.dev && err.ino === log.ino;
  } catch {
    return false;
  }
}

/** How often the config file is compared with what was last applied, besides watching it. */
const CONFIG_CHECK_MS = 2000;

/** The config file's text, or "" when there is none: what a reload compares to notice a change. */
function configText(file: string | undefined): string {
  try {
    return readFileSync(file ?? configPath(), "utf8");
  } catch {
    return "";
  }
}
