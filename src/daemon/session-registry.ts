import { randomUUID } from "node:crypto";
import { canonicalProjectDir } from "../protocol/project-path.js";
import { drainNotice } from "../protocol/drain-notice.js";
import { ErrorCode, errorResponse, type JsonRpcMessage } from "../protocol/json-rpc.js";
import type { Backend, SessionPort } from "./backend.js";
import type { DaemonActivity } from "../runtime/daemon-health.js";
import { CallStats } from "./call-stats.js";
import { SessionActivity } from "./session-activity.js";
import { canBeAsked, handshakeProfile } from "./handshake-profile.js";
import type { ScopePool } from "./scope-pool.js";

/** Where a session is served: its child (or the built-in server) and the scope key it was found under. */
export interface Bound {
  backend: Backend;
  scopeKey: string;
}

/**
 * A client session as the daemon's fronts keep it, whichever way the client reached the daemon. It is bound to
 * its backend at its `initialize` (see bind), which says which child can serve it.
 */
export interface OpenSession extends SessionPort {
  bound?: Bound;
  /** What the session asked and was answered (its `deliver` reports every answer here). */
  readonly activity: SessionActivity;
  /** Its client knows the drain notice, and ends the session itself once it has moved on. */
  readonly drains: boolean;
  /** Since when the session has been quiet (its last request); undefined while it is busy or holds a connection open. */
  quietSince(): number | undefined;
  /** Releases what the session holds on the client side (streams, sockets, timers). */
  close(): void;
}

export type SessionFactory<T extends OpenSession> = (id: string, projectPath: string | undefined, activity: SessionActivity) => T;

/** Why a session was not opened; `busy` when only the daemon's limit stood in the way (try again later). */
export interface Refusal {
  refused: string;
  busy: boolean;
  /** The daemon is being replaced: the client should look for the new one. */
  draining?: boolean;
}

export interface RegistryOptions {
  pool: ScopePool;
  /** Sessions quiet for this long are ended (see reapIdle). */
  idleTimeoutMs: number;
  /** At most this many sessions at once: the quietest idle one makes room, else a new one is refused. */
  maxSessions: number;
  log: (line: string) => void;
  /** The clock calls are timed with (tests inject theirs). */
  now?: () => number;
}

/**
 * Every session the daemon serves, over HTTP or its session socket: where each one is served (its scope's
 * backend), and its end, whether the client said goodbye, went away, or went quiet for the idle time.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, OpenSession>();
  /** Why no session is opened any more: the daemon is being replaced (see drain). */
  private draining: string | undefined;
  private emptied: (() => void) | undefined;
  /** Every answered call of every session, for the status page's charts and recent errors. */
  readonly calls: CallStats;

  private readonly pool: ScopePool;
  private readonly log: (line: string) => void;

  constructor(private readonly options: RegistryOptions) {
    this.pool = options.pool;
    this.log = options.log;
    this.calls = new CallStats(options.now);
  }

  /** Opens a session for the project the client claims; a refusal when the claim or the daemon's limit stands in the way. */
  open<T extends OpenSession>(claimedProject: string | undefined, create: SessionFactory<T>): T | Refusal {
    const id = randomUUID();
    if (this.draining) return { refused: this.draining, busy: true, draining: true };
    let projectPath: string | undefined;
    if (claimedProject) {
      const checked = canonicalProjectDir(claimedProject);
      // Where the project decides what runs (a project scope) a bad path is an error; elsewhere it is ignored,
      // and a server that keeps data per project falls back to its global place.
      if ("error" in checked) {
        const error = `project path ${JSON.stringify(claimedProject)} ${checked.error}`;
        if (this.pool.scope === "project") return { refused: error, busy: false };
        this.log(`ignoring ${error}`);
      } else projectPath = checked.path;
    }
    // Only a session that will be opened may push the quietest one out.
    if (this.sessions.size >= this.options.maxSessions && !this.makeRoom()) {
      return {
        refused: `the daemon serves its limit of ${this.options.maxSessions} sessions ("maxSessions"); try again later`,
        busy: true,
      };
    }
    const session = create(id, projectPath, new SessionActivity(id, (call) => this.calls.record(call), this.options.now));
    this.sessions.set(id, session);
    return session;
  }

  /**
   * Binds a session to the backend that serves it, from its `initialize`: the child of its scope and handshake
   * profile, so that it shares a child only with sessions the child would answer alike.
   */
  bind(session: OpenSession, initialize: Record<string, unknown> | undefined): Bound {
    if (session.bound) return session.bound;
    const { key, cwd } = this.pool.keyFor(session.projectPath, session.id, handshakeProfile(initialize), canBeAsked(initialize));
    const backend = this.pool.acquire(key, cwd);
    session.bound = { backend, scopeKey: key };
    backend.attach(session);
    return session.bound;
  }

  /**
   * A message from the session, past its handshake gate: bound at its `initialize`, followed by its activity,
   * then handed to its backend.
   */
  handle(session: OpenSession, message: JsonRpcMessage, text?: string): void {
    const bound = session.bound ?? this.bind(session, "params" in message ? message.params : undefined);
    session.activity.asked(message);
    bound.backend.handle(session, message, text);
  }

  /** Every session: its client, project, child, calls and what it waits for. */
  report(): DaemonActivity {
    const sessionList = [...this.sessions.values()].map((session) =>
      session.activity.report({ project: session.projectPath, child: session.bound?.scopeKey }),
    );
    return { sessionList, calls: this.calls.report() };
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
    if (session.bound) {
      session.bound.backend.detach(session);
      this.pool.released(session.bound.scopeKey);
    }
    if (this.sessions.size === 0) this.emptied?.();
  }

  /**
   * The daemon is being replaced: no session is opened any more, and each open one is told (DRAIN_NOTICE_METHOD)
   * to take what comes next to the new daemon. Resolves once every session has ended; its proxy ends it when the
   * answers it waits for from here have come.
   */
  drain(reason: string): Promise<void> {
    this.draining = `the daemon is being replaced (${reason}); connect again to reach the new one`;
    for (const session of this.sessions.values()) if (session.drains) session.deliver(drainNotice(reason));
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.emptied = resolve));
  }

  /**
   * During a drain, ends the sessions that will not end by themselves (a proxy that does not know the notice, a
   * client speaking HTTP to us directly) once nothing is in flight and nothing came from them for `quietForMs`:
   * their next message reconnects them.
   */
  endQuietUnaware(quietForMs: number): void {
    for (const session of [...this.sessions.values()]) {
      if (session.drains || session.activity.waitingFor().length > 0 || session.activity.quietFor() < quietForMs) continue;
      this.end(session, "ended: quiet while the daemon drains");
    }
  }

  /** The drain timed out: every session left is ended, each request it still waits for answered with `error`. */
  endAllDrained(error: string): void {
    for (const session of [...this.sessions.values()]) {
      for (const id of session.activity.waitingFor()) session.deliver(errorResponse(id, ErrorCode.ConnectionClosed, error), id);
      this.end(session, "ended: the drain timed out");
    }
  }

  endAll(reason: string): void {
    for (const session of [...this.sessions.values()]) this.end(session, reason);
  }

  /** Ends sessions that went quiet: no request in flight, no connection held, nothing for the idle time. */
  reapIdle(now = Date.now()): void {
    for (const session of [...this.sessions.values()]) {
      const since = session.quietSince();
      if (since !== undefined && now - since >= this.options.idleTimeoutMs) this.end(session, "reaped after idling");
    }
  }

  /** At the limit: ends the session quiet for longest (none busy, none holding a connection), if there is one. */
  private makeRoom(): boolean {
    let quietest: OpenSession | undefined;
    let earliest = Number.POSITIVE_INFINITY;
    for (const session of this.sessions.values()) {
      const since = session.quietSince();
      if (since !== undefined && since < earliest) [quietest, earliest] = [session, since];
    }
    if (!quietest) return false;
    this.end(quietest, `reaped to make room: the daemon is at its limit of ${this.options.maxSessions} sessions`);
    return true;
  }
}
