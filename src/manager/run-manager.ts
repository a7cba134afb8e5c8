import { fstatSync, statSync } from "node:fs";
import http from "node:http";
import { loadConfig } from "../config/load.js";
import { ensureHome, managerLockPath, managerLogPath } from "../config/paths.js";
import { createLog } from "../logging/log.js";
import { rotateLog } from "../logging/rotate.js";
import { ManagerApi } from "./api-server.js";
import { isStartable } from "../config/server-config.js";
import { claimLock, lockRecord, readLock, removeLock, updateLock } from "../runtime/lock-file.js";
import { pingManager, type ManagerIdentity } from "../runtime/manager-client.js";
import type { DaemonReport } from "./daemon-state.js";
import { VERSION } from "../version.js";
import { SupervisedDaemon } from "./supervisor.js";
import { HeldToken } from "../runtime/home-token.js";
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
  let config = loadConfig(options.configFile);
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

  /** The config is read again for every request that names a server: users add and edit servers while we run. */
  const refresh = (): void => {
    try {
      config = loadConfig(options.configFile);
    } catch (error) {
      log(`keeping the previous config: ${(error as Error).message}`);
      return;
    }
    for (const server of Object.values(config.servers)) {
      const known = daemons.get(server.name);
      if (known) known.server = server;
      else daemons.set(server.name, new SupervisedDaemon(server, context()));
    }
  };
  refresh();

  const api = new ManagerApi({
    home,
    port,
    auth,
    startedAt,
    daemon: (name) => (refresh(), daemons.get(name)),
    daemons: () => (refresh(), [...daemons.values()]),
    configFile: () => config.file,
  });
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
  log(`listening on http://127.0.0.1:${port} (config: ${config.file ?? "embedded defaults"}, home: ${home})`);

  await Promise.all([...daemons.values()].map((daemon) => daemon.adopt()));
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
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${signal}): stopping the daemons this manager started`);
    clearInterval(tick);
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
