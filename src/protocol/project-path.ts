import { realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";

/**
 * Numbers the POSTs of one proxy session (0 for its initialize). Separate POSTs travel on separate connections
 * and may arrive out of order; our daemon handles a session's messages in this order.
 */
export const SEQUENCE_HEADER = "mcp-proxy-sequence";

/** The header that tells a daemon which project a session works in (per-project databases, children). */
export const PROJECT_PATH_HEADER = "mcp-project-path";

/** `CLAUDE_PROJECT_DIR` if set, else the working directory; absolute, with symlinks resolved. */
export function projectPath(env = process.env, cwd = process.cwd()): string {
  const path = resolve(cwd, env.CLAUDE_PROJECT_DIR || ".");
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/**
 * HTTP header values must be Latin-1 text: plain ASCII paths travel as they are (what earlier daemons
 * read), anything else percent-encoded, as are literal '%' signs so decoding is unambiguous.
 */
export function encodeProjectPath(path: string): string {
  return /^[\x20-\x24\x26-\x7e]*$/.test(path) ? path : encodeURIComponent(path).replace(/%2F/g, "/");
}

export function decodeProjectPath(value: string): string {
  return value.includes("%") ? decodeURIComponent(value) : value;
}

/**
 * A project directory someone names (a request header, a command's --project): it must be absolute and an
 * existing directory, and its canonical form (symlinks resolved) is what is used. Gives the reason otherwise.
 */
export function canonicalProjectDir(path: string): { path: string } | { error: string } {
  if (!isAbsolute(path)) return { error: "must be an absolute path" };
  try {
    const real = realpathSync.native(path);
    return statSync(real).isDirectory() ? { path: real } : { error: "is not a directory" };
  } catch {
    return { error: "does not exist" };
  }
}

/** The project of a command: `--project DIR` (relative to the working directory), else as mcp-proxy decides it. */
export function commandProjectDir(option: string | undefined): string {
  const path = option ? resolve(option) : projectPath();
  const checked = canonicalProjectDir(path);
  if ("error" in checked) throw new Error(`project directory ${path} ${checked.error}`);
  return checked.path;
}
