import { appendFileSync, fstatSync, openSync } from "node:fs";
import { rotateLog, type LogRotation } from "./rotate.js";

/** Longer lines are cut: one line (a child's stderr, say) must not outgrow the log on its own. */
const MAX_LINE_CHARS = 16 * 1024;

/** The log file a writer owns and keeps within its size, whatever writes to it between checks. */
export interface OwnedLog {
  path: string;
  rotation: LogRotation;
}

/**
 * Lifecycle lines for humans, from proxies and daemons: to stderr (a client shows a proxy's in its MCP log)
 * and, for a configured server, to `<home>/<name>.log`. Never stdout, which carries protocol messages alone.
 * A log that cannot be written is given up quietly: a closed stderr (its reader died) or a full disk must
 * never stop the process, nor turn each failed write into another error to log.
 */
export function createLog(prefix: string, file?: string, owned?: OwnedLog): (line: string) => void {
  let fd: number | undefined;
  if (file) {
    try {
      fd = openSync(file, "a", 0o600);
    } catch {
      fd = undefined;
    }
  }
  let stderrOpen = true;
  process.stderr.on("error", () => {
    stderrOpen = false;
  });
  // The owner checks the file's size each time it wrote a quarter of the limit: with rotation at the limit, the
  // file stays under 1.25 times it, plus what others (proxies) appended meanwhile.
  let sinceCheck = 0;
  // A detached daemon's stderr is its log file. Should the home be cleared by hand, it would write on into the
  // deleted file, and `mcp-manager logs` would find nothing: looked at, at most once a second, as lines are
  // written, and the file is then opened again at its path (once the home is back).
  let lastLook = 0;
  const reopenIfRemoved = () => {
    if (!owned || fd !== undefined || Date.now() - lastLook < 1000) return;
    lastLook = Date.now();
    try {
      const stderr = fstatSync(2);
      if (!stderr.isFile() || stderr.nlink > 0) return;
      fd = openSync(owned.path, "a", 0o600);
      stderrOpen = false;
    } catch {
      // not a file, or the home is not back yet
    }
  };
  return (line: string) => {
    reopenIfRemoved();
    const cut = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… (${line.length - MAX_LINE_CHARS} more characters)` : line;
    const text = `${new Date().toISOString()} [${prefix}] ${escapeForLog(cut)}\n`;
    if (owned) {
      sinceCheck += text.length;
      if (sinceCheck >= owned.rotation.maxBytes / 4) {
        sinceCheck = 0;
        rotateLog(owned.path, owned.rotation);
      }
    }
    if (stderrOpen) process.stderr.write(text);
    if (fd !== undefined) {
      try {
        appendFileSync(fd, text);
      } catch {
        fd = undefined;
      }
    }
  };
}

/**
 * Log lines carry text that clients and servers choose (project paths, client names, error messages). Each line
 * written is one entry: a newline inside it starts an indented continuation, which no entry starts with (they
 * start with a timestamp), so it cannot forge one; other control characters (carriage returns, terminal escape
 * sequences) are written as \xNN.
 */
export function escapeForLog(text: string): string {
  return (
    text
      .replace(/\r?\n/g, "\n    ")
      // eslint-disable-next-line no-control-regex -- control characters are what this finds
      .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
  );
}
