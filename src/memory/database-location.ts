import { chmodSync, closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, type Stats } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The database a session uses, and, when it is not the project's own, why. */
export interface DatabaseChoice {
  file: string;
  why?: string;
}

const SQLITE_SIDE_FILES = ["-wal", "-shm"];

/**
 * Where a session's memory lives: `<project>/.claude/memory.db` when the session named a project (already
 * vetted by canonicalProjectDir) whose `.claude` is a real directory of ours we may write, else the global
 * `~/.claude/memory.db`. Never anywhere else: no symbolic link is followed out of the project (for `.claude`,
 * the database or its -wal/-shm), a `.claude` we make is 0700, and the database files are 0600.
 */
export function databaseFor(projectPath: string | undefined, home = homedir()): DatabaseChoice {
  let why: string | undefined;
  if (projectPath) {
    try {
      return { file: prepare(join(projectPath, ".claude"), false) };
    } catch (error) {
      why = (error as Error).message;
    }
  }
  const file = prepare(join(home, ".claude"), true);
  return why === undefined ? { file } : { file, why };
}

/** Makes `dir/memory.db` ready to open, or throws saying why it may not be used. */
function prepare(dir: string, isGlobal: boolean): string {
  const existing = lstatOrUndefined(dir);
  if (!existing) {
    // Not recursive for a project: its directory exists (it was vetted); only `.claude` is ours to make.
    mkdirSync(dir, { recursive: isGlobal, mode: 0o700 });
  } else {
    if (existing.isSymbolicLink()) throw new Error(`${dir} is a symbolic link`);
    if (!existing.isDirectory()) throw new Error(`${dir} is not a directory`);
    if (process.getuid && existing.uid !== process.getuid()) throw new Error(`${dir} is not owned by the user the daemon runs as`);
  }
  const file = join(dir, "memory.db");
  for (const path of [file, ...SQLITE_SIDE_FILES.map((suffix) => file + suffix)]) {
    const stat = lstatOrUndefined(path);
    if (stat && !stat.isFile()) throw new Error(`${path} is ${stat.isSymbolicLink() ? "a symbolic link" : "not a regular file"}`);
    if (stat && (stat.mode & 0o077) !== 0 && path !== file) chmodSync(path, 0o600);
  }
  // Created (or opened) here without following a link, so that SQLite opens exactly this file, 0600.
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    if (process.platform !== "win32") fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
  return file;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** For commands the user runs on a project (`memory --stdio`, import, export): its own database, or a clear error. */
export function projectDatabase(projectPath: string): string {
  const { file, why } = databaseFor(projectPath);
  if (why !== undefined) throw new Error(`the memory database of ${projectPath} cannot be used: ${why}`);
  return file;
}
