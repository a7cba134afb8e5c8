import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse } from "jsonc-parser";
import { uninstallEverywhere } from "../clients/install.js";
import type { Config } from "../config/server-config.js";
import { autostart, autostartSpec } from "./autostart.js";
import { control, startableNames } from "./control.js";
import { stopManager } from "./stop-manager.js";
import { clearStopped } from "../runtime/stop-marker.js";
import { shellWord } from "../process/shell-word.js";

/**
 * `mcp-manager uninstall --all`: what a user leaving needs done at once: every client file install changed put
 * back, autostart removed, the manager and every daemon stopped. Data is never deleted: the report lists it
 * (memory databases, backups, the home) with the commands that remove it.
 */
export async function uninstallAll(config: Config, home: string, configFile: string | undefined, dryRun: boolean): Promise<string> {
  const out: string[] = [uninstallEverywhere(home, dryRun).trimEnd()];
  out.push(autostart("uninstall", autostartSpec(configFile), home, dryRun).trimEnd());
  if (dryRun) out.push("would stop: the manager and every daemon");
  else {
    out.push(await stopManager(config, home));
    const names = startableNames(config);
    for (const result of await control("stop", names, config, home, () => {})) out.push(result.line);
    // Leaving is not "stopped on purpose": a later install starts from a clean slate.
    for (const name of names) clearStopped(name, home);
  }
  const databases = memoryDatabases();
  out.push(
    "",
    "Left in place (your data; remove what you no longer want):",
    `  ${home}   config, logs, client file backups, the token: rm -r ${shellWord(home)}`,
    ...databases.map((file) => `  ${file}   a memory database: rm ${shellWord(file)}*`),
    "  the commands themselves: npm uninstall -g mcp-session-manager",
  );
  return out.join("\n") + "\n";
}

/** Memory databases this user has: the global one and those of the projects Claude Code knows. */
function memoryDatabases(): string[] {
  const home = homedir();
  let projects: string[] = [];
  try {
    const known = (parse(readFileSync(join(home, ".claude.json"), "utf8")) as { projects?: Record<string, unknown> } | undefined)?.projects;
    projects = Object.keys(known ?? {});
  } catch {
    // no Claude Code file: the global database alone
  }
  return [home, ...projects].map((dir) => join(dir, ".claude", "memory.db")).filter((file) => existsSync(file));
}
