import { randomBytes } from "node:crypto";
import { chmodSync, linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { ensureHome, tokenPath } from "../config/paths.js";

/** Shorter than this, a token file is damaged and is replaced. */
const MIN_TOKEN_LENGTH = 32;
/** How often a holder looks at the file again: a replaced token is followed within this time. */
const RECHECK_MS = 1000;

/**
 * The home's secret, in `<home>/manager.token` (0600 in the 0700 home): whoever can read it may use this home's
 * manager and daemons; it also proves them to proxies (see identity-proof.ts). A file others can read may have
 * leaked, so it is replaced, never trusted. Returns undefined when there is none yet (or it is unusable).
 */
export function readHomeToken(home: string): string | undefined {
  const file = tokenPath(home);
  try {
    if (process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0) return undefined;
    const token = readFileSync(file, "utf8").trim();
    return token.length >= MIN_TOKEN_LENGTH ? token : undefined;
  } catch {
    return undefined;
  }
}

const newToken = () => randomBytes(32).toString("base64url");

/**
 * The home's token, made when there is none or the one there is unusable. Many processes may ask at once: the
 * file is created exclusively, so all of them end up with the same token. `missing` is what to write when the
 * file is gone (a holder's token, so that its clients keep working); an unusable file gets a new token.
 */
export function ensureHomeToken(home: string, missing?: string): string {
  const existing = readHomeToken(home);
  if (existing) return existing;
  ensureHome(home);
  const file = tokenPath(home);
  const created = missing ?? newToken();
  // Written whole to a private file, then linked into place: the name appears only with its content, and only
  // if no other process put a token there first (a reader never sees an empty file it would think damaged).
  const staged = `${file}.${process.pid}.new`;
  writeFileSync(staged, `${created}\n`, { mode: 0o600 });
  try {
    if (process.platform !== "win32" && (statSync(staged).mode & 0o077) !== 0) {
      throw new Error(
        `${home} is on a filesystem without Unix permissions (a token there is readable by others); choose another MCP_SESSION_MANAGER_HOME`,
      );
    }
    linkSync(staged, file);
    return created;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(staged);
  }
  // A file is there but unusable (open to others, or damaged): replace it, unless another process just did.
  const raced = readHomeToken(home);
  if (raced) return raced;
  const token = newToken();
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
  if (process.platform !== "win32") chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  return readHomeToken(home) ?? token; // of two replacing at once, the one renamed last is the token
}

/**
 * The token as a long-running daemon or manager holds it: it follows a replaced file (so proofs and credentials
 * agree with what clients read), and writes its token back when the file, or the whole home, was deleted.
 */
export class HeldToken {
  private token: string;
  private checkedAt = 0;

  constructor(private readonly home: string) {
    this.token = ensureHomeToken(home);
    this.checkedAt = Date.now();
  }

  /** The current token; `fresh` looks at the file now instead of within the next second. */
  current(fresh = false): string {
    const now = Date.now();
    if (!fresh && now - this.checkedAt < RECHECK_MS) return this.token;
    this.checkedAt = now;
    try {
      this.token = ensureHomeToken(this.home, this.token);
    } catch {
      // The home cannot be written just now (a full disk, say): keep serving with the token we have.
    }
    return this.token;
  }
}
