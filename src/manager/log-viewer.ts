import { closeSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { logPath, managerLogPath } from "../config/paths.js";
import type { Config } from "../config/server-config.js";
import { table } from "./status-table.js";

const FOLLOW_POLL_MS = 250;
const TAIL_WINDOW = 1024 * 1024;

/**
 * `mcp-manager logs NAME`: the last `lines` lines of a log, then, with `follow`, what is appended, until
 * interrupted. A log rotated under us (truncated in place) is read again from its start.
 */
export async function showLog(file: string, lines: number, follow: boolean, write: (text: string) => void): Promise<void> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new Error(`no log yet at ${file} (the daemon has not run)`);
  }
  const start = Math.max(0, size - TAIL_WINDOW);
  const text = readRange(file, start, size);
  const kept = text.split("\n");
  if (kept.at(-1) === "") kept.pop();
  if (lines > 0)
    write(
      kept
        .slice(-lines)
        .map((line) => `${line}\n`)
        .join(""),
    );
  if (!follow) return;
  let offset = size;
  await new Promise<never>(() => {
    setInterval(() => {
      let now: number;
      try {
        now = statSync(file).size;
      } catch {
        return; // between rotation steps
      }
      if (now < offset) offset = 0; // rotated: the file was truncated
      if (now > offset) {
        write(readRange(file, offset, now));
        offset = now;
      }
    }, FOLLOW_POLL_MS);
  });
}

function readRange(file: string, from: number, to: number): string {
  const fd = openSync(file, "r");
  try {
    const buffer = Buffer.alloc(to - from);
    const read = readSync(fd, buffer, 0, buffer.length, from);
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    closeSync(fd);
  }
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
