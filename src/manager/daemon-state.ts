import type { ServerConfig } from "../config/server-config.js";
import { lockPath, logPath } from "../config/paths.js";
import { addressFrom } from "../runtime/daemon-address.js";
import {
  daemonActivity,
  probeDaemon,
  troubledChild,
  type CallStatsReport,
  type DaemonActivity,
  type DaemonHealth,
  type DatabaseReport,
  type SessionReport,
} from "../runtime/daemon-health.js";
import type { RestartEvent } from "../runtime/restart-history.js";
import { isRemote, portHeldHere, shownUrl } from "../config/server-config.js";
import { isHolderAlive, readLock } from "../runtime/lock-file.js";
import { isListening } from "../runtime/port-probe.js";
import { readStopped } from "../runtime/stop-marker.js";
import { isOlderThanThis } from "../runtime/version-order.js";

export type DaemonState = "starting" | "running" | "backing-off" | "failed" | "stopped" | "disabled" | "stale-lock" | "foreign";

/** One daemon as `status` shows it, from the manager's supervision or, without a manager, from its files. */
export interface DaemonReport {
  name: string;
  state: DaemonState;
  transport: string;
  url?: string;
  /** A server given by URL, which the daemon relays to: whether it takes connections now. */
  remote?: { url: string; answers: boolean };
  port?: number;
  pid?: number;
  uptimeMs?: number;
  restarts?: number;
  /** The daemon's restarts, newest last, and why (the children's are with each child). */
  restartLog?: RestartEvent[];
  /** Resident memory of the daemon process. */
  rssBytes?: number;
  /** The package version the daemon runs (from its `/health`). */
  version?: string;
  /** Set when that is not the version of whoever reports (the manager, or the CLI): `mcp-manager upgrade` moves it. */
  outdated?: boolean;
  sessions?: number;
  lastError?: string;
  /** Stopped with `mcp-manager stop`: proxies will not start it. */
  stoppedOnPurpose?: boolean;
  /** A hosted server's children: which scope and handshake each serves (`shared`, `project:<dir>`, with `<client>/<version>/<capabilities>`). */
  children?: ChildReport[];
  /** Each session: client, project, child, calls, errors and in-flight requests. */
  sessionList?: SessionReport[];
  /** Calls per ten seconds over the last minutes, with latency percentiles and the last errors. */
  calls?: CallStatsReport;
  /** What the daemon learned about its server by watching it (`asksClients`: each new session gets its own child). */
  learned?: Record<string, unknown>;
  log: string;
}

export interface ChildReport {
  serves: string;
  state: string;
  pid?: number;
  sessions: number;
  restarts: number;
  /** Requests its sessions wait for now. */
  inFlight: number;
  rssBytes?: number;
  restartLog?: RestartEvent[];
  /** The built-in memory server: the project databases it has open. */
  databases?: DatabaseReport[];
  /** A remote server's relay: the URL it relays to. */
  relaysTo?: string;
}

/**
 * What is true about one server right now, from its lock file, its port and its `/health`: a live holder whose
 * URL answers is running; a live holder not answering yet is starting; an answering port without a live lock
 * belongs to someone else.
 */
export async function inspectDaemon(server: ServerConfig, home: string): Promise<DaemonReport> {
  const report = await configuredReport(server, home);
  const lock = readLock(lockPath(server.name, home));
  if (lock && isHolderAlive(lock)) {
    report.pid = lock.pid;
    if (lock.url) withUrl(report, lock.url);
    // Our daemon answers /health (one request tells both that it runs and how it fares); others a TCP connect.
    const address = lock.url ? addressFrom({ ...lock, url: lock.url }) : undefined;
    const health = address ? await probeDaemon(address, server.name, home, { pid: lock.pid }) : undefined;
    report.state = health || (lock.url && (await isListening(new URL(lock.url)))) ? "running" : "starting";
    if (health) addHealth(report, health, await daemonActivity(health));
    else if (report.state === "running") {
      const since = Date.parse(lock.startedAt);
      if (Number.isFinite(since)) report.uptimeMs = Date.now() - since;
    }
    return report;
  }
  if (server.disabled) report.state = "disabled";
  else if (await isTaken(server)) report.state = "foreign";
  else if (lock) report.state = "stale-lock";
  return report;
}

/** What the config and the home tell about a server before its daemon is looked at (a remote one: whether it answers). */
export async function configuredReport(server: ServerConfig, home: string): Promise<DaemonReport> {
  const report: DaemonReport = { name: server.name, state: "stopped", transport: server.transport, log: logPath(server.name, home) };
  const held = portHeldHere(server);
  if (held) [report.url, report.port] = [held.url, held.port];
  if (isRemote(server)) report.remote = { url: shownUrl(server.url), answers: await isListening(new URL(server.url)) };
  if (readStopped(server.name, home)) report.stoppedOnPurpose = true;
  return report;
}

/** Whether the port the entry claims here answers (without a live daemon of ours: someone else holds it). */
async function isTaken(server: ServerConfig): Promise<boolean> {
  const held = portHeldHere(server);
  return held !== undefined && (await isListening(new URL(held.url)));
}

/** Where the daemon answers; the port shown stays the configured one (an HTTP server's own, not its daemon's). */
export function withUrl(report: DaemonReport, url: string): void {
  report.url = url;
  report.port ??= Number(new URL(url).port);
}

/** Folds a daemon's `/health` into its report: a daemon up while its server crash-loops is not "running". */
export function addHealth(report: DaemonReport, health: DaemonHealth, activity?: DaemonActivity): void {
  report.sessions = health.sessions;
  report.version = health.version;
  if (isOlderThanThis(health.version)) report.outdated = true;
  // The daemon's own clock: a manager that adopted it, or a lock rewritten since, would count from later.
  report.uptimeMs = health.uptimeMs ?? report.uptimeMs;
  const troubled = troubledChild(health);
  if (troubled) report.state = troubled.state === "failed" ? "failed" : "backing-off";
  if (troubled?.lastError) report.lastError = `server: ${troubled.lastError}`;
  const childRestarts = health.children.reduce((sum, child) => sum + (child.restarts ?? 0), 0);
  report.restarts = (report.restarts ?? 0) + childRestarts;
  if (health.learned && Object.keys(health.learned).length) report.learned = health.learned;
  if (activity) [report.sessionList, report.calls] = [activity.sessionList, activity.calls];
  report.children = health.children.map(({ scope, state, pid, sessions, restarts, restartLog, databases, relaysTo }) => ({
    serves: scope,
    state,
    ...(pid !== undefined ? { pid } : {}),
    sessions,
    restarts: restarts ?? 0,
    inFlight: (activity?.sessionList ?? []).reduce((sum, session) => sum + (session.child === scope ? session.waiting : 0), 0),
    ...(restartLog?.length ? { restartLog } : {}),
    ...(databases ? { databases } : {}),
    ...(relaysTo ? { relaysTo } : {}),
  }));
}
