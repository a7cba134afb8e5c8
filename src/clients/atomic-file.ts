import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { replaceFile } from "../files/replace-file.js";

/** A file's text and what identifies this version of it (to notice that someone wrote it meanwhile). */
export interface ReadFile {
  text: string;
  exists: boolean;
  version: string;
}

export function readText(path: string): ReadFile {
  try {
    const stat = statSync(path);
    return { text: readFileSync(path, "utf8"), exists: true, version: `${stat.mtimeMs}:${stat.size}` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { text: "", exists: false, version: "absent" };
    throw error;
  }
}

/** Someone (the client itself: Claude Code rewrites ~/.claude.json often) changed the file after we read it. */
export class ChangedMeanwhile extends Error {
  override name = "ChangedMeanwhile";
}

/**
 * Replaces a file atomically (a temporary file in the same directory, renamed over it), keeping its mode, and
 * only if it is still the version that was read. A reader never sees half a file.
 */
export function writeTextAtomically(path: string, text: string, readVersion: string): void {
  let mode = 0o600;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    // a new file: the user's alone
  }
  replaceFile(path, text, mode, () => {
    if (readText(path).version !== readVersion) throw new ChangedMeanwhile(`${path} changed while it was being edited`);
  });
}

/** Copies a file into the backup directory under a name that says what and when; returns the copy's path. */
export function backUp(path: string, backupDir: string, label: string): string {
  mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const copy = join(backupDir, `${label}-${stamp}-${basename(path)}`);
  copyFileSync(path, copy);
  chmodSync(copy, 0o600);
  return copy;
}
