import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CLIENTS, claudeCodeProjects, clientFile } from "../clients/client-locations.js";
import { logPath } from "../config/paths.js";
import { proxyScript } from "../runtime/entry-points.js";
import { entriesThroughProxy, uninstallEverywhere } from "../clients/install.js";
import type { Config } from "../config/server-config.js";
import { autostart, autostartSpec } from "./autostart.js";
import { control, startableNames } from "./control.js";
import { stopManager } from "./stop-manager.js";
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
    // Stopped on purpose: an entry left somewhere (added by hand) gets an error saying so, not a new daemon.
    for (const result of await control("stop", startableNames(config), config, home, () => {})) out.push(result.line);
  }
  const handMade = proxyEntriesLeft();
  if (handMade.length)
    out.push(
      "",
      "Client entries that still launch mcp-proxy (added by hand, so not undone here; remove them in their client):",
      ...handMade.map((entry) => `  ${entry}`),
    );
  const databases = memoryDatabases(config, home);
  out.push(
    "",
    "Left in place (your data; remove what you no longer want):",
    `  ${home}   config, logs, client file backups, the token: rm -r ${shellWord(home)}`,
    ...databases.map((file) => `  ${file}   a memory database: rm ${shellWord(file)}*`),
    `  the commands themselves: ${uninstallCommand()}`,
  );
  return out.join("\n") + "\n";
}

/** Entries in the clients' user files that still launch mcp-proxy, as `client: name (file)`. */
function proxyEntriesLeft(): string[] {
  return CLIENTS.flatMap((client) => {
    const file = clientFile(client, "user", process.cwd());
    try {
      return entriesThroughProxy(file).map((name) => `${client}: ${name} (${file.path})`);
    } catch {
      return []; // a malformed file: install and uninstall already say so
    }
  });
}

/**
 * Memory databases this user has: the global one, those of the projects Claude Code knows, and every one the
 * memory daemons logged a session using.
 */
function memoryDatabases(config: Config, home: string): string[] {
  const user = homedir();
  const projects = claudeCodeProjects(user).map((project) => project.dir);
  const files = new Set([user, ...projects].map((dir) => join(dir, ".claude", "memory.db")));
  for (const server of Object.values(config.servers)) {
    if (server.kind !== "builtin") continue;
    for (const log of [logPath(server.name, home), ...[1, 2, 3, 4, 5].map((n) => `${logPath(server.name, home)}.${n}`)]) {
      const text = readIfThere(log);
      for (const match of text.matchAll(/ uses (\/\S*\/\.claude\/memory\.db)\b/g)) files.add(match[1]!);
    }
  }
  return [...files].filter((file) => existsSync(file));
}

/** `npm uninstall -g`, with the prefix this copy was installed under when it sits in one. */
function uninstallCommand(): string {
  const packageDir = dirname(dirname(proxyScript()));
  const prefix = /[/\\]lib[/\\]node_modules[/\\]mcp-session-manager$/.test(packageDir) ? dirname(dirname(dirname(packageDir))) : undefined;
  return `npm uninstall -g ${prefix ? `--prefix ${shellWord(prefix)} ` : ""}mcp-session-manager`;
}

function readIfThere(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return ""; // rotated away, or never written
  }
}
