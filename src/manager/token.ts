import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tokenPath } from "../config/paths.js";

/**
 * The bearer token mutating manager calls must carry, in `<home>/manager.token` (0600). Whoever can read the
 * user's files may drive the manager; a web page or another user cannot. A token file others could read
 * may have leaked, so it is replaced rather than trusted. (Clients read it in manager-client.ts, which keeps
 * node:crypto out of the proxy's start-up.)
 */
export function ensureToken(home: string): string {
  const file = tokenPath(home);
  try {
    const open = process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0;
    const token = readFileSync(file, "utf8").trim();
    if (!open && token.length >= 32) return token;
  } catch {
    // none yet
  }
  const token = randomBytes(32).toString("base64url");
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  if (process.platform !== "win32") chmodSync(file, 0o600);
  return token;
}

/** Compares an `Authorization` header with the token in constant time. */
export function isAuthorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
