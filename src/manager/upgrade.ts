import { setTimeout as sleep } from "node:timers/promises";
import { lockPath } from "../config/paths.js";
import type { Config } from "../config/server-config.js";
import { addressFrom } from "../runtime/daemon-address.js";
import { probeDaemon } from "../runtime/daemon-health.js";
import { isHolderAlive, readLock } from "../runtime/lock-file.js";
import { callManager, pingManager, type ProvenManager } from "../runtime/manager-client.js";
import { isProcessAlive } from "../process/process-identity.js";
import { isOlderThanThis } from "../runtime/version-order.js";
import { VERSION } from "../version.js";
import type { DaemonReport } from "./daemon-state.js";
import { replaceDirectly } from "./control.js";

/** How long the daemons may take to be replaced, all together. */
const UPGRADE_TIMEOUT_MS = 120_000;

/**
 * `mcp-manager upgrade`: every daemon, and the manager, moved to this version without losing a call. A manager
 * of another version hands over (it exits, leaving the daemons running) to one of this version, which replaces
 * each outdated daemon gracefully (drain, see supervisor.ts); a manager of this version does the same at once;
 * with no manager, the daemons are replaced from here. Returns a line per change, for people.
 */
export async function upgrade(config: Config, home: string, log: (line: string) => void): Promise<string[]> {
  const lines: string[] = [];
  let manager = await pingManager(config.manager.port, home);
  if (!manager) return upgradeDirectly(config, home, log);
  const before = await versions(manager);
  if (manager.version !== VERSION && !isOlderThanThis(manager.version)) {
    throw new Error(
      `the running manager is of a newer version (${manager.version}) than this command (${VERSION}): run that version's mcp-manager`,
    );
  }
  if (manager.version !== VERSION) {
    lines.push(`manager: ${manager.version} -> ${VERSION} (pid ${manager.pid} handed over; the daemons kept running)`);
    manager = await handOver(manager, config, home);
  }
  // Answered once every outdated daemon is replaced: a new manager serves it only after adopting (and upgrading)
  // what runs, and each daemon's upgrade waits for any restart under way.
  await callManager(manager, "/upgrade", { body: {}, timeoutMs: UPGRADE_TIMEOUT_MS });
  const after = await versions(manager);
  for (const [name, from] of before) {
    const to = after.get(name);
    if (from !== to) lines.push(`${name}: ${from} -> ${to ?? "not running"}`);
    else if (isOlderThanThis(from)) lines.push(`${name}: still ${to}; see mcp-manager logs ${name}`);
  }
  if (lines.length === 0) lines.push(`the manager and every running daemon already run ${VERSION}`);
  return lines;
}

/** Each running daemon's version, as the manager reports it. */
async function versions(manager: ProvenManager): Promise<Map<string, string>> {
  const answer = await callManager(manager, "/status", { method: "GET", timeoutMs: 10_000 });
  const reports = (answer.body as { daemons?: DaemonReport[] }).daemons ?? [];
  return new Map(reports.filter((report) => report.version && report.state === "running").map((report) => [report.name, report.version!]));
}

/** Asks the running manager to leave, then starts one of this version in its place, which adopts the daemons. */
async function handOver(old: ProvenManager, config: Config, home: string): Promise<ProvenManager> {
  const answer = await callManager(old, "/handover", { body: {}, timeoutMs: 10_000 });
  if (answer.status === 404) {
    throw new Error(
      `the running manager (${old.version}) cannot hand over; stop it (mcp-manager stop --manager, which stops the daemons it started), then run mcp-manager start --detach`,
    );
  }
  const deadline = Date.now() + 10_000;
  while (isProcessAlive(old.pid)) {
    if (Date.now() > deadline) throw new Error(`the manager (pid ${old.pid}) did not exit after handing over`);
    await sleep(50);
  }
  const { startDetached } = await import("./detach.js");
  await startDetached(config, home, false);
  const manager = await pingManager(config.manager.port, home);
  if (!manager) throw new Error("the new manager does not answer");
  return manager;
}

/** No manager: each outdated daemon of ours is replaced from here, gracefully. */
async function upgradeDirectly(config: Config, home: string, log: (line: string) => void): Promise<string[]> {
  const lines: string[] = [];
  for (const server of Object.values(config.servers)) {
    const lock = readLock(lockPath(server.name, home));
    if (!lock?.url || !isHolderAlive(lock)) continue;
    const health = await probeDaemon(addressFrom({ ...lock, url: lock.url }), server.name, home, { pid: lock.pid });
    if (!health || !isOlderThanThis(health.version)) continue;
    try {
      const started = await replaceDirectly(server, config, home, `upgraded from ${health.version} to ${VERSION}`, log);
      lines.push(`${server.name}: ${health.version} -> ${VERSION} (pid ${started.pid})`);
    } catch (error) {
      lines.push(`${server.name}: not upgraded: ${(error as Error).message}`);
    }
  }
  if (lines.length === 0) lines.push(`every running daemon already runs ${VERSION}`);
  return lines;
}
