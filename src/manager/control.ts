import { canDrain, findServer, isRemote, isStartable, shownUrl, type Config, type ServerConfig } from "../config/server-config.js";
import { lockPath } from "../config/paths.js";
import { DaemonUnavailable, type RunningDaemon } from "../runtime/daemon-address.js";
import { drainDaemon } from "../runtime/drain-daemon.js";
import { addressFrom } from "../runtime/daemon-address.js";
import { troubledChild } from "../runtime/daemon-health.js";
import { answers } from "../runtime/find-daemon.js";
import { serverOutcome } from "../runtime/server-outcome.js";
import { startDaemon } from "../runtime/start-daemon.js";
import { reapOrphanedChildren, stopDaemon } from "../runtime/stop-daemon.js";
import { isHolderAlive, readLock } from "../runtime/lock-file.js";
import { answerError, callManager, pingManager, type ProvenManager } from "../runtime/manager-client.js";
import { clearStopped, markStopped } from "../runtime/stop-marker.js";

export type ControlAction = "start" | "stop" | "restart";

/** The outcome for one server, as a line for people. */
export interface ControlResult {
  name: string;
  ok: boolean;
  line: string;
}

/**
 * `mcp-manager start|stop|restart NAME...`: through the manager when it runs (so it keeps supervising what
 * it is told about), otherwise directly, with the same locks and the same stop marker proxies respect.
 */
export async function control(
  action: ControlAction,
  names: string[],
  config: Config,
  home: string,
  log: (line: string) => void,
): Promise<ControlResult[]> {
  for (const name of names) findServer(config, name); // unknown names fail before anything is done
  const manager = await pingManager(config.manager.port, home);
  // Each server has its own lock and daemon: they start (and stop) side by side, not each after the last.
  return Promise.all(
    names.map(async (name): Promise<ControlResult> => {
      const server = config.servers[name]!;
      try {
        const deadline = Date.now() + server.startTimeoutMs;
        const result = manager ? await viaManager(action, server, manager) : await directly(action, server, config, home, log);
        return result.ok && action !== "stop" ? await withServerOutcome(result, server, home, deadline) : result;
      } catch (error) {
        return { name, ok: false, line: `${name}: ${(error as Error).message}` };
      }
    }),
  );
}

/** `stop --all` / `start --all`: every server mcp-manager can start. */
export function startableNames(config: Config): string[] {
  return Object.values(config.servers)
    .filter(isStartable)
    .map((server) => server.name);
}

async function viaManager(action: ControlAction, server: ServerConfig, manager: ProvenManager): Promise<ControlResult> {
  const answer = await callManager(manager, `/${action}`, { body: { name: server.name }, timeoutMs: server.startTimeoutMs + 10_000 });
  if (answer.status !== 200) return { name: server.name, ok: false, line: `${server.name}: ${answerError(answer)}` };
  const body = answer.body as { url?: string; pid?: number; state?: string };
  return { name: server.name, ok: true, line: describe(action, server, body.pid, body.url) };
}

async function directly(
  action: ControlAction,
  server: ServerConfig,
  config: Config,
  home: string,
  log: (line: string) => void,
): Promise<ControlResult> {
  if (action === "restart" && !server.disabled) {
    const started = await replaceDirectly(server, config, home, "restarted by mcp-manager restart", log);
    return { name: server.name, ok: true, line: describe(action, server, started.pid, started.address.url.href) };
  }
  if (action !== "start") {
    if (action === "stop") markStopped(server.name, home, "mcp-manager stop");
    const lock = readLock(lockPath(server.name, home));
    if (lock && isHolderAlive(lock)) await stopDaemon(server, home, lock.pid);
    else {
      // A daemon killed outright may have left its servers running: they are stopped all the same.
      const left: string[] = [];
      reapOrphanedChildren(server.name, home, (line) => left.push(line));
      const also = left.length ? `; ${left.join("; ")}` : "";
      if (action === "stop")
        return { name: server.name, ok: true, line: `${server.name}: its daemon was not running${also} (it stays stopped)` };
    }
    if (action === "stop")
      return {
        name: server.name,
        ok: true,
        line: `${server.name}: stopped (pid ${lock!.pid}); proxies will not start it until: mcp-manager start ${server.name}`,
      };
  }
  if (server.disabled) throw new DaemonUnavailable(`disabled in the config ("disabled": true)`);
  clearStopped(server.name, home);
  if (action === "start") await stopIfItsServerFailed(server, home);
  const started = await startDaemon(server, {
    home,
    log,
    deadline: Date.now() + server.startTimeoutMs,
    rotation: { maxBytes: config.manager.logMaxBytes, keep: config.manager.logFiles },
    ...(config.file ? { configFile: config.file } : {}),
  });
  return { name: server.name, ok: true, line: describe(action, server, started.pid, started.address.url.href) };
}

/**
 * Our daemon replaced without a manager: the running one drains (its calls finish while the new one serves;
 * see supervisor.ts for the same with a manager), or is stopped if it cannot; then a new one starts.
 */
export async function replaceDirectly(
  server: ServerConfig,
  config: Config,
  home: string,
  reason: string,
  log: (line: string) => void,
): Promise<RunningDaemon> {
  const lock = readLock(lockPath(server.name, home));
  if (lock?.url && isHolderAlive(lock)) {
    const drained = canDrain(server) && (await drainDaemon(addressFrom({ ...lock, url: lock.url }), server.name, home, reason));
    if (!drained) await stopDaemon(server, home, lock.pid);
  }
  clearStopped(server.name, home);
  return startDaemon(server, {
    home,
    log,
    deadline: Date.now() + server.startTimeoutMs,
    rotation: { maxBytes: config.manager.logMaxBytes, keep: config.manager.logFiles },
    ...(config.file ? { configFile: config.file } : {}),
  });
}

function describe(action: ControlAction, server: ServerConfig, pid: number | undefined, url: string | undefined): string {
  const name = server.name;
  // The daemon is what starts and stops: a remote server itself is never touched.
  const relay = isRemote(server) ? `; it relays to ${shownUrl(server.url)}` : "";
  if (action === "stop") return `${name}: stopped${relay}; proxies will not start it until: mcp-manager start ${name}`;
  const where = `${pid ? ` (pid ${pid}` : " ("}${url ? `, ${url})` : ")"}`;
  if (action === "restart" && !canDrain(server)) return `${name}: restarted${where}; its HTTP server was stopped and started again`;
  if (action === "restart")
    return `${name}: restarted${where}; calls in flight finish on the previous daemon (for up to its drainTimeoutMs)${relay}`;
  return `${name}: running${where}${relay}`;
}

/** A start or restart's line, with what became of the server (server-outcome.ts). */
async function withServerOutcome(result: ControlResult, server: ServerConfig, home: string, deadline: number): Promise<ControlResult> {
  const outcome = await serverOutcome(server, home, deadline);
  if (!outcome.ok)
    return { ...result, ok: false, line: `${result.line}\n${server.name}: but ${outcome.why}; see: mcp-manager logs ${server.name}` };
  return outcome.note ? { ...result, line: `${result.line}\n${server.name}: ${outcome.note}` } : result;
}

/** A running daemon whose server gave up or waits to be restarted is stopped: start brings up one that tries now. */
async function stopIfItsServerFailed(server: ServerConfig, home: string): Promise<void> {
  const lock = readLock(lockPath(server.name, home));
  if (!lock || !isHolderAlive(lock)) return;
  const health = await answers(server, lock, home);
  if (health && troubledChild(health)) await stopDaemon(server, home, lock.pid);
}
