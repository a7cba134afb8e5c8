import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { stopMarkerPath } from "../config/paths.js";

/** Who stopped a daemon on purpose, and when. */
export interface StopMarker {
  at: string;
  by: string;
}

/**
 * A daemon stopped with `mcp-manager stop` stays stopped: proxies that lose it answer with an error saying so
 * instead of starting it again behind the user's back. `mcp-manager start` (or `/start`) lifts the marker.
 */
export function markStopped(name: string, home: string, by: string): void {
  writeFileSync(stopMarkerPath(name, home), JSON.stringify({ at: new Date().toISOString(), by }), { mode: 0o600 });
}

export function clearStopped(name: string, home: string): void {
  try {
    unlinkSync(stopMarkerPath(name, home));
  } catch {
    // not stopped
  }
}

export function readStopped(name: string, home: string): StopMarker | undefined {
  try {
    const marker = JSON.parse(readFileSync(stopMarkerPath(name, home), "utf8")) as Partial<StopMarker>;
    return { at: String(marker.at ?? "an unknown time"), by: String(marker.by ?? "mcp-manager stop") };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return { at: "an unknown time", by: "mcp-manager stop" }; // unreadable still means stopped
  }
}

export function stoppedMessage(name: string, marker: StopMarker): string {
  return `daemon "${name}" was stopped on purpose (${marker.by}, at ${marker.at}); start it again with: mcp-manager start ${name}`;
}
