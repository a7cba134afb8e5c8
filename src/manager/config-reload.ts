import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Config } from "../config/server-config.js";

/** What a reload changed, by server name; `error` when the file could not be used (nothing changed then). */
export interface ReloadOutcome {
  added: string[];
  changed: string[];
  removed: string[];
  /** The manager's own settings changed: they apply when it restarts. */
  managerSettings?: boolean;
  error?: string;
}

/** The servers that appear, disappear or read differently between two configs (defaults applied on both sides). */
export function diffServers(before: Config, after: Config): Omit<ReloadOutcome, "error"> {
  const added = Object.keys(after.servers).filter((name) => !(name in before.servers));
  const removed = Object.keys(before.servers).filter((name) => !(name in after.servers));
  const changed = Object.keys(after.servers).filter(
    (name) => name in before.servers && JSON.stringify(before.servers[name]) !== JSON.stringify(after.servers[name]),
  );
  return { added, changed, removed };
}

/** A one-line account of a reload, for the log and the CLI. */
export function describeReload(outcome: ReloadOutcome): string {
  if (outcome.error) return `the config was not reloaded: ${outcome.error}; the last good config stays in force`;
  const parts = (["added", "changed", "removed"] as const)
    .filter((kind) => outcome[kind].length)
    .map((kind) => `${kind} ${outcome[kind].join(", ")}`);
  if (outcome.managerSettings) parts.push("the manager's own settings changed: they apply when it restarts");
  return parts.length ? `config reloaded: ${parts.join("; ")}` : "config reloaded: nothing changed since the last reload";
}

/**
 * Calls `changed` soon after `file` is written, renamed into place (as editors save) or deleted. Events are
 * gathered for a moment, since one save makes several. Watching can fail (the directory is gone, or the system
 * has no watcher left): the periodic check in the manager's supervision round still notices the change.
 */
export function watchConfigFile(file: string, changed: () => void, log: (line: string) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
      if (name !== null && name !== basename(file)) return;
      clearTimeout(timer);
      timer = setTimeout(changed, 150);
    });
    watcher.on("error", (error) => log(`watching ${file} stopped (${error.message}); changes are noticed at each supervision round`));
  } catch (error) {
    log(`cannot watch ${file} (${(error as Error).message}); changes are noticed at each supervision round`);
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
  };
}
