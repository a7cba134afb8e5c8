import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { findCommand } from "../process/find-command.js";
import type { ClientServerEntry } from "./client-entry.js";

const PACKAGE = "@modelcontextprotocol/server-memory";

/**
 * Whether a client entry runs the official memory server: `npx -y @modelcontextprotocol/server-memory[@v]`, its
 * `mcp-server-memory` bin, or `node .../server-memory/dist/index.js`.
 */
export function runsOfficialMemory(entry: ClientServerEntry): boolean {
  const parts = commandLine(entry);
  return parts.some((part) => {
    const unix = part.replace(/\\/g, "/");
    return (
      unix === PACKAGE ||
      unix.startsWith(`${PACKAGE}@`) ||
      /^mcp-server-memory(\.cmd)?$/.test(basename(unix)) ||
      /\/server-memory\/dist\/index\.js$/.test(unix)
    );
  });
}

/** The JSONL file an official memory entry keeps its graph in, or why none was found. */
export type MemoryFileFinding = { file: string; others: string[] } | { none: string };

/**
 * Where the official server of this entry writes: `MEMORY_FILE_PATH` if absolute; otherwise that name (default
 * `memory.jsonl`, or the older `memory.json`) in the package's own `dist/` directory, as the server resolves it.
 * That directory is the script's, the bin's on PATH, or, for npx, one in npm's npx cache (the newest file wins
 * when several copies of the package have one).
 */
export function findMemoryFile(entry: ClientServerEntry, home = homedir()): MemoryFileFinding {
  const env = (entry.env && typeof entry.env === "object" ? entry.env : {}) as Record<string, unknown>;
  const named = typeof env.MEMORY_FILE_PATH === "string" && env.MEMORY_FILE_PATH ? env.MEMORY_FILE_PATH : undefined;
  if (named && isAbsolute(named))
    return existsSync(named) ? { file: named, others: [] } : { none: `${named} (MEMORY_FILE_PATH) does not exist` };
  const names = named ? [named] : ["memory.jsonl", "memory.json"];
  const dirs = packageDistDirs(entry, home);
  // In each directory the first name present counts: the server moves an old memory.json to memory.jsonl itself.
  const found = dirs
    .map((dir) => names.map((name) => join(dir, name)).find((file) => existsSync(file)))
    .filter((file): file is string => file !== undefined)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!found.length) {
    if (!dirs.length) return { none: `no installed copy of ${PACKAGE} was found` };
    return { none: `no ${names.join(" or ")} in ${dirs.join(", ")}` };
  }
  return { file: found[0]!, others: found.slice(1) };
}

/** The `dist/` directories of the package copies this entry may run. */
function packageDistDirs(entry: ClientServerEntry, home: string): string[] {
  const parts = commandLine(entry);
  const script = parts.find((part) => /[/\\]server-memory[/\\]dist[/\\]index\.js$/.test(part));
  if (script) return [dirname(script)];
  const bin = parts.find((part) => /^mcp-server-memory(\.cmd)?$/.test(basename(part)));
  if (bin) {
    const found = findCommand(bin);
    if (found) {
      try {
        return [dirname(realpathSync(found))];
      } catch {
        // a dangling link: no copy there
      }
    }
    return [];
  }
  // npx keeps each package spec it ran in a directory of its own under <npm cache>/_npx/.
  const npx = join(process.env.npm_config_cache ?? join(home, ".npm"), "_npx");
  let runs: string[];
  try {
    runs = readdirSync(npx);
  } catch {
    return [];
  }
  return runs.map((run) => join(npx, run, "node_modules", ...PACKAGE.split("/"), "dist")).filter((dir) => existsSync(dir));
}

/** The entry's command and arguments, the strings among them. */
function commandLine(entry: ClientServerEntry): string[] {
  const args: unknown[] = Array.isArray(entry.args) ? entry.args : [];
  return [entry.command, ...args].filter((part): part is string => typeof part === "string");
}
