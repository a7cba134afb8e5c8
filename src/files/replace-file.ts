import { chmodSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Replaces a file's contents atomically: a temporary file beside it, renamed over it, so a reader sees the old
 * contents or the new, never half of them. The temporary name carries our pid, so concurrent writers do not
 * share one.
 */
export function replaceFile(path: string, text: string, mode = 0o600, beforeRename?: () => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = temporaryPath(path);
  writeFileSync(temp, text, { mode });
  chmodSync(temp, mode); // the umask may have narrowed it
  try {
    beforeRename?.(); // a last check that may call the replacement off, as late as possible
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
  renameSync(temp, path);
}

/**
 * Where a file is written before it is moved or linked into place: beside it, hidden, with our pid (writers in
 * different processes never share one; doctor reports one left behind).
 */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}
