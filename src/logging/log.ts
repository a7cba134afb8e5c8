import { appendFileSync, openSync } from "node:fs";

/**
 * Lifecycle lines for humans, from proxies and daemons: to stderr (a client shows a proxy's in its MCP log)
 * and, for a configured server, to `<home>/<name>.log`. Never stdout, which carries protocol messages alone.
 * A log that cannot be written is given up quietly: a closed stderr (its reader died) or a full disk must
 * never stop the process, nor turn each failed write into another error to log.
 */
export function createLog(prefix: string, file?: string): (line: string) => void {
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
  return (line: string) => {
    const text = `${new Date().toISOString()} [${prefix}] ${line}\n`;
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
