import { randomUUID } from "node:crypto";
import { canonicalProjectDir } from "../protocol/project-path.js";
import type { Backend, SessionPort } from "./backend.js";
import type { ScopePool } from "./scope-pool.js";

/** A client session as the daemon's fronts keep it, whichever way the client reached the daemon. */
export interface OpenSession extends SessionPort {
  readonly backend: Backend;
  readonly scopeKey: string;
  /** How long the session has been quiet at `now`; 0 while it is busy or holds a connection open. */
  idleMs(now: number): number;
  /** Releases what the session holds on the client side (streams, sockets, timers). */
  close(): void;
}

export type SessionFactory<T extends OpenSession> = (id: string, backend: Backend, scopeKey: string, projectPath: string | undefined) => T;

/**
 * Every session the daemon serves, over HTTP or its session socket: where each one is served (its scope's
 * backend), and its end, whether the client said goodbye, went away, or went quiet for the idle time.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, OpenSession>();

  constructor(
    private readonly pool: ScopePool,
    /** Sessions quiet for this long are ended (see reapIdle). */
    private readonly idleTimeoutMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Opens a session for the project the client claims; a reason instead when the claim must be refused. */
  open<T extends OpenSession>(claimedProject: string | undefined, create: SessionFactory<T>): T | string {
    const id = randomUUID();
    let projectPath: string | undefined;
    if (claimedProject) {
      const checked = canonicalProjectDir(claimedProject);
      // Where the project decides what runs (a project scope) a bad path is an error; elsewhere it is ignored,
      // and a server that keeps data per project falls back to its global place.
      if ("error" in checked) {
        const error = `project path ${JSON.stringify(claimedProject)} ${checked.error}`;
        if (this.pool.scope === "project") return error;
        this.log(`ignoring ${error}`);
      } else projectPath = checked.path;
    }
    const { key, cwd } = this.pool.keyFor(projectPath, id);
    const backend = this.pool.acquire(key, cwd);
    const session = create(id, backend, key, projectPath);
    backend.attach(session);
    this.sessions.set(id, session);
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): OpenSession | undefined {
    return this.sessions.get(id);
  }

  end(session: OpenSession, reason: string): void {
    if (!this.sessions.delete(session.id)) return;
    this.log(`session ${session.id} ${reason}`);
    session.close();
    session.backend.detach(session);
    this.pool.released(session.scopeKey);
  }

  endAll(reason: string): void {
    for (const session of [...this.sessions.values()]) this.end(session, reason);
  }

  /** Ends sessions that went quiet: no request in flight, no connection held, nothing for the idle time. */
  reapIdle(now = Date.now()): void {
    for (const session of [...this.sessions.values()]) {
      if (session.idleMs(now) >= this.idleTimeoutMs) this.end(session, "reaped after idling");
    }
  }
}
