import type { SessionPort } from "./backend.js";

/** MCP's log levels (RFC 5424 severities), least severe first. */
export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
/** What a session that never set a level is taken to want once another session changed the child's level. */
export const DEFAULT_SESSION_LEVEL = "info";
const DEFAULT_LEVEL = LOG_LEVELS.indexOf(DEFAULT_SESSION_LEVEL);

/**
 * The `logging/setLevel` of each session sharing a child. Until a session sets a level, the child logs at its
 * own default and every session gets what it sends. Once one does, the child logs at the most verbose level of
 * the sessions attached now (those that never set one count as `info`), and each session is given only the
 * messages at or above its own level: what a private server would have sent it.
 */
export class LogLevels {
  private readonly levels = new Map<SessionPort, number>();
  private readonly attached = new Set<SessionPort>();

  static isLevel(level: unknown): level is string {
    return typeof level === "string" && LOG_LEVELS.includes(level);
  }

  attach(session: SessionPort): void {
    this.attached.add(session);
  }

  set(session: SessionPort, level: string): void {
    this.attached.add(session);
    this.levels.set(session, LOG_LEVELS.indexOf(level));
  }

  /** The level the session set, if any (to put back when the child refuses a new one). */
  levelOf(session: SessionPort): string | undefined {
    const index = this.levels.get(session);
    return index === undefined ? undefined : LOG_LEVELS[index];
  }

  /** Puts back what `levelOf` said: a level, or none. */
  restore(session: SessionPort, level: string | undefined): void {
    if (level === undefined) this.levels.delete(session);
    else this.set(session, level);
  }

  drop(session: SessionPort): void {
    this.attached.delete(session);
    this.levels.delete(session);
  }

  /** The level the child should log at; undefined while no session set one (the child keeps its default). */
  childLevel(): string | undefined {
    if (this.levels.size === 0) return undefined;
    const wanted = [...this.attached].map((session) => this.levels.get(session) ?? DEFAULT_LEVEL);
    return LOG_LEVELS[Math.min(...wanted)];
  }

  /** Whether a message of `level` reaches the session. */
  admits(session: SessionPort, level: unknown): boolean {
    if (this.levels.size === 0) return true;
    return LOG_LEVELS.indexOf(String(level)) >= (this.levels.get(session) ?? DEFAULT_LEVEL);
  }
}
