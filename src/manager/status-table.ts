import { fileURLToPath } from "node:url";
import type { Config } from "../config/schema.js";
import type { DaemonReport } from "./daemon-state.js";

const EXPLAIN: Record<DaemonReport["state"], string> = {
  running: "running",
  starting: "starting",
  stopped: "stopped (the first proxy starts it)",
  "stale-lock": "stopped, stale lock (replaced at next start)",
  foreign: "port taken by another process",
  "remote-up": "remote, answering",
  "remote-down": "remote, not answering",
};

/** The status table a person reads, followed by how to connect a client. */
export function renderStatus(config: Config, home: string, reports: DaemonReport[]): string {
  const rows = [["SERVER", "STATE", "PID", "TRANSPORT", "URL"]];
  for (const r of reports) rows.push([r.name, EXPLAIN[r.state], r.pid ? String(r.pid) : "-", r.transport, r.url ?? "-"]);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
  const proxy = fileURLToPath(new URL("../proxy/index.js", import.meta.url));
  const first = reports[0]?.name ?? "NAME";
  return [
    `config: ${config.file ?? "none, using the embedded defaults"}`,
    `home:   ${home} (locks and logs: <name>.lock, <name>.log)`,
    "",
    table,
    "",
    "Connect a client session through the proxy, for example Claude Code:",
    `  claude mcp add ${first} -- ${process.execPath} ${proxy} --target ${first}`,
    "",
  ].join("\n");
}
