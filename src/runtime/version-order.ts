import lt from "semver/functions/lt.js";
import valid from "semver/functions/valid.js";
import { VERSION } from "../version.js";

/**
 * Whether `version` (a daemon's, a manager's) comes before this package's: what an upgrade replaces. A newer
 * one is never "outdated": a command of an older version must not downgrade what a newer one started.
 * Versions semver cannot read are outdated when they differ.
 */
export function isOlderThanThis(version: string): boolean {
  if (version === VERSION) return false;
  return valid(version) && valid(VERSION) ? lt(version, VERSION) : true;
}
