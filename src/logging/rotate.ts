import { copyFileSync, renameSync, statSync, truncateSync, unlinkSync } from "node:fs";

export interface LogRotation {
  maxBytes: number;
  /** Rotated files kept: `<file>.1` (newest) up to `<file>.<keep>`. */
  keep: number;
}

/**
 * Rotates a log that outgrew `maxBytes`. Daemons write their logs through descriptors opened in append mode
 * and held for their whole life, so the file cannot be renamed away from them: it is copied to `<file>.1`
 * and truncated in place (what logrotate calls copytruncate). Their next write lands at the start of the
 * emptied file. Lines written between the copy and the truncation (microseconds) are the only ones at risk.
 * Returns whether it rotated.
 */
export function rotateLog(file: string, rotation: LogRotation): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size <= rotation.maxBytes) return false;
  try {
    try {
      unlinkSync(`${file}.${rotation.keep}`);
    } catch {
      // fewer rotated files so far
    }
    for (let index = rotation.keep - 1; index >= 1; index--) {
      try {
        renameSync(`${file}.${index}`, `${file}.${index + 1}`);
      } catch {
        // not there yet
      }
    }
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    return true;
  } catch {
    return false; // a full disk or a vanished file: try again at the next check
  }
}
