import { homedir } from "node:os";
import type { Scope } from "../config/schema.js";
import type { Backend } from "./backend.js";

export interface PoolOptions {
  scope: Scope;
  /** The entry's own working directory, if it names one. */
  cwd?: string;
  /** A project or session scope's child with no sessions left is stopped after this long. */
  childIdleTimeoutMs: number;
  log: (line: string) => void;
  /** Builds the backend of one scope key, to run in `cwd`. */
  create: (key: string, cwd: string | undefined) => Backend;
  /**
   * Whether sessions with different handshakes get different children (handshake-profile.ts): true for a
   * child that is initialized once for all its sessions; the built-in server makes one per session anyway.
   */
  byHandshake: boolean;
  /** Whether the server was seen asking its clients: then each new session gets a child of its own. */
  asksClients?: () => boolean;
}

/**
 * Which child serves a session, by the server's sharing scope: one for everybody (`shared`), one per canonical
 * project path started in that directory (`project`), or one per session (`session`); within a scope, one per
 * handshake profile (sessions the child would answer alike). Children of the last two scopes are stopped once
 * no session has used them for the idle time.
 */
export class ScopePool {
  private readonly children = new Map<string, Backend>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: PoolOptions) {}

  get scope(): Scope {
    return this.options.scope;
  }

  /**
   * Which child serves a session, and where that child runs: the entry's `cwd` when it names one; else a
   * `shared` child runs in the home directory, which belongs to no session, and a `project` or `session` child
   * in the session's project. Never in a session's project by chance (whoever came first).
   */
  keyFor(projectPath: string | undefined, sessionId: string, profile: string): { key: string; cwd: string } {
    const own = this.options.cwd;
    const of = this.options.byHandshake ? ` ${profile}` : "";
    // A server that asks its clients (roots, sampling) serves one client at a time: no sharing from now on.
    if (this.options.asksClients?.()) return { key: `session:${sessionId}`, cwd: own ?? projectPath ?? homedir() };
    switch (this.options.scope) {
      case "shared":
        return { key: `shared${of}`, cwd: own ?? homedir() };
      case "project":
        return { key: `project:${projectPath ?? ""}${of}`, cwd: own ?? projectPath ?? homedir() };
      case "session":
        return { key: `session:${sessionId}`, cwd: own ?? projectPath ?? homedir() };
    }
  }

  acquire(key: string, cwd: string | undefined): Backend {
    clearTimeout(this.idleTimers.get(key));
    this.idleTimers.delete(key);
    let backend = this.children.get(key);
    if (!backend) {
      backend = this.options.create(key, cwd);
      this.children.set(key, backend);
    }
    return backend;
  }

  /** A session left this child: stop it after the idle time if nobody else uses it (never for `shared`). */
  released(key: string): void {
    const backend = this.children.get(key);
    if (!backend || backend.sessionCount > 0 || this.keepsWarm(key)) return;
    clearTimeout(this.idleTimers.get(key));
    const timer = setTimeout(() => {
      this.idleTimers.delete(key);
      if (backend.sessionCount > 0 || this.keepsWarm(key)) return;
      this.children.delete(key);
      this.options.log(`stopping the idle child of ${key}`);
      void backend.stop();
    }, this.options.childIdleTimeoutMs);
    timer.unref();
    this.idleTimers.set(key, timer);
  }

  /**
   * The one shared child stays, warm for whoever comes next; a project's or a session's go once idle, and so do
   * shared children of other handshakes (a client that came once, an older version) while another remains.
   */
  private keepsWarm(key: string): boolean {
    return key.startsWith("shared") && [...this.children.keys()].filter((other) => other.startsWith("shared")).length <= 1;
  }

  status() {
    return [...this.children].map(([key, backend]) => ({ scope: key, ...backend.status() }));
  }

  async stopAll(): Promise<void> {
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    await Promise.all([...this.children.values()].map((backend) => backend.stop()));
    this.children.clear();
  }
}
