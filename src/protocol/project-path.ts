import { existsSync, realpathSync, statSync, statfsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";

/**
 * Numbers the POSTs of one proxy session (0 for its initialize). Separate POSTs travel on separate connections
 * and may arrive out of order; our daemon handles a session's messages in this order.
 */
export const SEQUENCE_HEADER = "mcp-proxy-sequence";

/** The header that tells a daemon which project a session works in (per-project databases, children). */
export const PROJECT_PATH_HEADER = "mcp-project-path";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
/**
 * Whether a server at `url` may be told a session's project path: one on this machine may (as it would know
 * from a proxy of its own), a remote one never (the path names the user and their directories).
 */
export const mayKnowProjectPath = (url: URL): boolean => LOOPBACK.has(url.hostname);

/**
 * The project a session works in: `CLAUDE_PROJECT_DIR` if set; else the nearest directory from the working
 * directory up (itself included; the home directory and `/` excluded) that holds `.git` (a directory, or the
 * file of a worktree) or `.claude/memory.db`; else the working directory. Absolute, with symlinks resolved.
 * A client started in `repo/src/deep` thus works in `repo`, as it would with `CLAUDE_PROJECT_DIR` set. The
 * walk stops below a directory that is not the user's or that others may write (`/tmp`): a marker planted
 * there must not gather everyone's sessions under it.
 */
export function projectPath(env = process.env, cwd = process.cwd(), home = homedir()): string {
  if (env.CLAUDE_PROJECT_DIR) return canonical(resolve(cwd, env.CLAUDE_PROJECT_DIR));
  const start = canonical(cwd);
  const stop = new Set(["/", canonical(home)]);
  for (let dir = start; !stop.has(dir) && isOwnAndPrivate(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, ".git")) || existsSync(join(dir, ".claude", "memory.db"))) return dir;
    if (dirname(dir) === dir) break; // a filesystem root on Windows
  }
  return start;
}

function isOwnAndPrivate(dir: string): boolean {
  if (process.platform === "win32") return true;
  try {
    const stat = statSync(dir);
    return stat.uid === process.getuid!() && (stat.mode & 0o002) === 0;
  } catch {
    return false;
  }
}

function canonical(path: string): string {
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

/** Directories of the system, never a project, whoever runs us (root too). */
const SYSTEM_DIRS = ["/etc", "/usr", "/var", "/bin", "/sbin", "/boot", "/lib", "/lib32", "/lib64", "/libx32"];
/** Kernel filesystems, where writing makes no sense and walking can hang: by path, and by type where the path hides it. */
const SPECIAL_DIRS = ["/proc", "/sys", "/dev"];
const SPECIAL_FS_TYPES = new Set([
  0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x1cd1 /* devpts */, 0x63677270 /* cgroup2 */, 0x64626720 /* debugfs */,
]);

const within = (path: string, dirs: string[]) => dirs.some((dir) => path === dir || path.startsWith(`${dir}/`));

/**
 * A project directory someone names (a request header, a command's --project): it must be absolute, an existing
 * directory owned by the user we run as that others may not write, and neither `/`, a system directory nor on a
 * kernel filesystem; its
 * canonical form (symlinks resolved) is what is used. Gives the reason otherwise.
 */
export function canonicalProjectDir(path: string): { path: string } | { error: string } {
  if (!isAbsolute(path)) return { error: "must be an absolute path" };
  let real: string;
  try {
    real = realpathSync.native(path);
  } catch {
    return { error: "does not exist" };
  }
  if (process.platform === "win32") return statSync(real).isDirectory() ? { path: real } : { error: "is not a directory" };
  if (real === "/" || within(real, SYSTEM_DIRS)) return { error: `is${real === path ? "" : ` (${real})`} a system directory` };
  if (within(real, SPECIAL_DIRS) || SPECIAL_FS_TYPES.has(statfsSync(real).type)) return { error: "is on a kernel filesystem" };
  const stat = statSync(real);
  if (!stat.isDirectory()) return { error: "is not a directory" };
  if (stat.uid !== process.getuid!()) return { error: "is not owned by the user the daemon runs as" };
  if ((stat.mode & 0o002) !== 0) return { error: "is writable by every user (a shared directory such as /tmp)" };
  return { path: real };
}

/**
 * The project a daemon's starter named for its first session, checked as any session's is: its canonical
 * directory, or undefined when none was named or it is refused (then `refused` hears why).
 */
export function namedProjectDir(path: string | undefined, refused?: (why: string) => void): string | undefined {
  if (path === undefined) return undefined;
  const checked = canonicalProjectDir(path);
  if ("path" in checked) return checked.path;
  refused?.(checked.error);
  return undefined;
}

/** The project of a command: `--project DIR` (relative to the working directory), else as mcp-proxy decides it. */
export function commandProjectDir(option: string | undefined): string {
  const path = option ? resolve(option) : projectPath();
  const checked = canonicalProjectDir(path);
  if ("error" in checked) throw new Error(`project directory ${path} ${checked.error}`);
  return checked.path;
}
