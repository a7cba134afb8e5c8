import type { SessionPort } from "./backend.js";

/** MCP's log levels (RFC 5424 severities), least severe first. */
export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/**
 * The `logging/setLevel` of each session sharing a child. The child logs at the most verbose level any session
 * asked for; each session is then given only the messages at or above its own level.
 */
export class LogLevels {
  private readonly levels = new Map<SessionPort, number>();

  static isLevel(level: unknown): level is string {
    return typeof level === "string" && LOG_LEVELS.includes(level);
  }

  set(session: SessionPort, level: string): void {
    this.levels.set(session, LOG_LEVELS.indexOf(level));
  }

  drop(session: SessionPort): void {
    this.levels.delete(session);
  }

  get any(): boolean {
    return this.levels.size > 0;
  }

  /** The level the child should log at. */
  childLevel(): string {
    return LOG_LEVELS[Math.min(...this.levels.values())] ?? "info";
  }

  /** Whether a message of `level` reaches the session (one that never set a level gets what the server sends). */
  admits(session: SessionPort, level: unknown): boolean {
    const wanted = this.levels.get(session);
    return wanted === undefined || LOG_LEVELS.indexOf(String(level)) >= wanted;
  }
}
