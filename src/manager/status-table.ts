import { managerCommand } from "../runtime/entry-points.js";
import { claudeAddCommand } from "../runtime/proxy-entry.js";
import type { Config } from "../config/server-config.js";
import type { DaemonReport } from "./daemon-state.js";
import type { ManagerIdentity } from "../runtime/manager-client.js";
import { isOlderThanThis } from "../runtime/version-order.js";

const EXPLAIN: Record<DaemonReport["state"], string> = {
  running: "running",
  starting: "starting",
  "backing-off": "restarting (backing off)",
  failed: "FAILED",
  stopped: "stopped",
  disabled: "disabled in config",
  "stale-lock": "stopped, stale lock",
  foreign: "port taken by another process",
};

export function describeState(report: DaemonReport): string {
  return describeDaemon(report) + (report.remote ? `; remote ${report.remote.answers ? "answering" : "NOT ANSWERING"}` : "");
}

function describeDaemon(report: DaemonReport): string {
  if (report.state === "stopped") return report.stoppedOnPurpose ? "stopped (by mcp-manager stop)" : "stopped (starts on first use)";
  return report.outdated ? `${EXPLAIN[report.state]}, OUTDATED (${report.version})` : EXPLAIN[report.state];
}

export function formatUptime(ms: number | undefined): string {
  if (ms === undefined) return "-";
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}m`;
  return `${Math.floor(seconds / 86_400)}d${String(Math.floor(seconds / 3600) % 24).padStart(2, "0")}h`;
}

/** Aligned columns, for people. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The status table a person reads, then what needs attention, then how to connect a client. */
export function renderStatus(
  config: Config,
  home: string,
  reports: DaemonReport[],
  manager: ManagerIdentity | undefined,
  configError?: string,
): string {
  const rows = [["SERVER", "STATE", "PID", "PORT", "TRANSPORT", "UPTIME", "RESTARTS", "SESSIONS"]];
  for (const r of reports) {
    rows.push([
      r.name,
      describeState(r),
      r.pid ? String(r.pid) : "-",
      r.port ? String(r.port) : "-",
      r.transport,
      formatUptime(r.uptimeMs),
      r.restarts === undefined ? "-" : String(r.restarts),
      r.sessions === undefined ? "-" : String(r.sessions),
    ]);
  }
  // Under each hosted server, its children: which project and client each serves, so sharing is visible.
  const children = reports.flatMap((r) => [
    ...(r.learned?.asksClients ? [`  ${r.name}: seen asking its clients, so each new session gets a child of its own`] : []),
    ...(r.children ?? []).map((child) => {
      // The built-in memory server runs in its daemon, a remote one elsewhere: no process of their own to name.
      const who = child.relaysTo
        ? `relay to ${child.relaysTo}`
        : child.pid !== undefined && child.pid === r.pid
          ? "in the daemon itself"
          : `child ${child.pid ?? "-"}`;
      return `  ${r.name}: ${who} (${child.state}) serves ${child.serves}: ${child.sessions} session${child.sessions === 1 ? "" : "s"}`;
    }),
  ]);
  const outdated = reports.filter((r) => r.outdated).map((r) => r.name);
  const problems = reports
    .filter((r) => r.lastError && (r.state === "failed" || r.state === "backing-off" || r.state === "running"))
    .map((r) => `  ${r.name}: ${r.lastError} (log: ${r.log})`);
  const first = reports[0]?.name ?? "NAME";
  const cli = managerCommand();
  return [
    `config:  ${config.file ?? "none, using the embedded defaults"}`,
    ...(configError ? [`         NOT RELOADED: ${configError}; the manager keeps the last good config until the file is fixed`] : []),
    `home:    ${home} (per server: <name>.log, <name>.lock)`,
    manager
      ? `manager: running (pid ${manager.pid}, API http://127.0.0.1:${manager.port})${isOlderThanThis(manager.version) ? `, OUTDATED (${manager.version}): ${cli} upgrade` : ""}`
      : `manager: not running (start it with: ${cli} start --detach); proxies start daemons themselves`,
    "",
    table(rows),
    ...(children.length ? ["", "Children:", ...children] : []),
    ...(problems.length ? ["", "Last errors:", ...problems] : []),
    ...(outdated.length
      ? [
          "",
          `Outdated: ${outdated.join(", ")} still run${outdated.length === 1 ? "s" : ""} an earlier version; move to this one without losing a call: ${cli} upgrade`,
        ]
      : []),
    "",
    "Connect Claude Code to it, in every project (other clients: see the README):",
    `  ${claudeAddCommand(first, config.file)}`,
    "or move a client's existing servers behind the proxy (backed up; undo with uninstall):",
    `  ${cli} install --client claude-code     (or claude-desktop, cursor, vscode, codex)`,
    "",
  ].join("\n");
}
