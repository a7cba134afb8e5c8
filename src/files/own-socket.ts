import { lstatSync } from "node:fs";

/**
 * Whether `path` is a Unix socket this user made, itself and not through a link: in the user-only home, only
 * our own daemons (or root) can have made it, so speaking to it tells a stranger nothing.
 */
export function isOwnSocket(path: string): boolean {
  try {
    const stat = lstatSync(path);
    return stat.isSocket() && (process.getuid === undefined || stat.uid === process.getuid());
  } catch {
    return false;
  }
}
