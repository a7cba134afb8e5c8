import type { ServerConfig } from "../config/schema.js";
import { lockPath, logPath } from "../config/paths.js";
import { isProcessAlive, readLock } from "./lock-file.js";
import { isListening } from "./port-probe.js";

export type DaemonState = "running" | "starting" | "stopped" | "stale-lock" | "foreign" | "remote-up" | "remote-down";

export interface DaemonReport {
  name: string;
  state: DaemonState;
  transport: string;
  url?: string;
  pid?: number;
  log: string;
}

/**
 * What is true about one server right now, from its lock file and its port: a live pid whose URL
 * answers is running; a live pid not answering yet is starting; an answering port without a live lock
 * belongs to someone else.
 */
export async function inspectDaemon(server: ServerConfig, home: string): Promise<DaemonReport> {
  const report: DaemonReport = { name: server.name, state: "stopped", transport: server.transport, log: logPath(server.name, home) };
  if (server.url) report.url = server.url;
  if (!server.command && !server.builtin && server.url) {
    report.state = (await isListening(new URL(server.url))) ? "remote-up" : "remote-down";
    return report;
  }
  const lock = readLock(lockPath(server.name, home));
  if (lock && isProcessAlive(lock.pid)) {
    report.pid = lock.pid;
    if (lock.url) report.url = lock.url;
    report.state = lock.url && (await isListening(new URL(lock.url))) ? "running" : "starting";
    return report;
  }
  if (server.url && (await isListening(new URL(server.url)))) report.state = "foreign";
  else if (lock) report.state = "stale-lock";
  return report;
}
