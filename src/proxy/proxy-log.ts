import { appendFileSync, openSync } from "node:fs";

/**
 * Lifecycle lines for humans: to stderr (the client shows it in its MCP log) and, for a configured
 * target, to `<home>/<name>.log`. Never stdout, which carries protocol messages alone.
 */
export function createLog(prefix: string, file?: string): (line: string) => void {
  let fd: number | undefined;
  if (file) {
    try {
      fd = openSync(file, "a", 0o600);
    } catch {
      fd = undefined; // a log we cannot write must not stop the proxy
    }
  }
  return (line: string) => {
    const text = `${new Date().toISOString()} [${prefix}] ${line}\n`;
    process.stderr.write(text);
    if (fd !== undefined) {
      try {
        appendFileSync(fd, text);
      } catch {
        fd = undefined; // disk full or file gone: keep going on stderr
      }
    }
  };
}
