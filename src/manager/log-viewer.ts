import { statSync, type Stats } from "node:fs";
import { LogFollower } from "../logging/log-follower.js";
import { logPath, managerLogPath } from "../config/paths.js";
import type { Config } from "../config/server-config.js";
import { table } from "./status-table.js";

const FOLLOW_POLL_MS = 250;

/**
 * `mcp-manager logs NAME`: the last `lines` lines of a log, then, with `follow`, what is appended, until
 * interrupted.
 */
export async function showLog(file: string, lines: number, follow: boolean, write: (text: string) => void): Promise<void> {
  const tail = new LogFollower(file);
  let last: string[];
  try {
    last = tail.last(lines);
  } catch {
    throw new Error(`no log yet at ${file} (the daemon has not run)`);
  }
  const print = (kept: string[]) => kept.length > 0 && write(kept.map((line) => `${line}\n`).join(""));
  print(last);
  if (!follow) return;
  await new Promise<never>(() => {
    setInterval(() => print(tail.more()), FOLLOW_POLL_MS);
  });
}

/** `mcp-manager logs` without a name: each log (the manager's, then each server's), its size and last write. */
export function listLogs(config: Config, home: string): string {
  const rows = [["LOG", "SIZE", "LAST WRITTEN", "FILE"]];
  const logs: Array<[string, string]> = [
    ["manager", managerLogPath(home)],
    ...Object.values(config.servers).map((server): [string, string] => [server.name, logPath(server.name, home)]),
  ];
  for (const [name, file] of logs) {
    let stat: Stats | undefined;
    try {
      stat = statSync(file);
    } catch {
      stat = undefined;
    }
    rows.push([name, stat ? `${Math.ceil(stat.size / 1024)} KiB` : "-", stat ? stat.mtime.toISOString() : "not written yet", file]);
  }
  return `${table(rows)}\n\nshow one with: mcp-manager logs NAME [-f]`;
}
