import { homedir } from "node:os";
import type { Scope } from "../config/schema.js";
import type { Backend } from "./backend.js";
import type { SpareChild } from "./spare-child.js";

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
  /** A child started ahead of the first session (spare-child.ts): listed with the others, stopped with them. */
  spare?: SpareChild;
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
  /** When each child was last acquired or released: the shared one used last stays warm. */
  private readonly lastUsed = new Map<string, number>();

  constructor(private readonly options: PoolOptions) {}

  get scope(): Scope {
    return this.options.scope;
  }

  /**
   * Which child serves a session, and where that child runs: the entry's `cwd` when it names one; else a
   * `shared` child runs in the home directory, which belongs to no session, and a `project` or `session` child
   * in the session's project. Never in a session's project by chance (whoever came first).
   */
  keyFor(projectPath: string | undefined, sessionId: string, profile: string, canBeAsked = false): { key: string; cwd: string } {
    const own = this.options.cwd;
    const of = this.options.byHandshake ? ` ${profile}` : "";
    // A server that asks its clients (roots, sampling) serves one client at a time: no sharing from now on, for
    // the clients it could ask.
    if (canBeAsked && this.options.asksClients?.()) return { key: `session:${sessionId}`, cwd: own ?? projectPath ?? homedir() };
    switch (this.options.scope) {
      case "shared":
        return { key: `shared${of}`, cwd: own ?? homedir() };
      case "project":
        return { key: `project:${projectPath ?? ""}${of}`, cwd: own ?? projectPath ?? homedir() };
      case "session":
        return { key: `session:${sessionId}`, cwd: own ?? projectPath ?? homedir() };
    }
  }

  /** Where the first child will run, as far as it is known before any session comes (see firstChildCwd). */
  cwdKnownAhead(firstProject: () => string | undefined): string | undefined {
    const { cwd, scope, asksClients } = this.options;
    return firstChildCwd({ ...(cwd ? { cwd } : {}), scope, asksClients: asksClients?.() ?? false }, firstProject);
  }

  acquire(key: string, cwd: string | undefined): Backend {
    clearTimeout(this.idleTimers.get(key));
    this.idleTimers.delete(key);
    this.lastUsed.set(key, Date.now());
    let backend = this.children.get(key);
    if (!backend) {
      backend = this.options.create(key, cwd);
      this.children.set(key, backend);
    }
    return backend;
  }

  /** A session left this child: stop it after the idle time if nobody else uses it (never for `shared`). */
  released(key: string): void {
    this.lastUsed.set(key, Date.now());
    const backend = this.children.get(key);
    if (!backend || backend.sessionCount > 0) return;
    // A session's own child serves nobody else, ever: it goes at once.
    if (key.startsWith("session:")) return this.stopIdle(key, backend);
    // Shared children: the one used last stays warm; any other idle one goes after the idle time.
    for (const other of this.children.keys()) if (other !== key && other.startsWith("shared")) this.scheduleStop(other);
    this.scheduleStop(key);
  }

  private scheduleStop(key: string): void {
    const backend = this.children.get(key);
    if (!backend || backend.sessionCount > 0 || this.keepsWarm(key) || this.idleTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.idleTimers.delete(key);
      if (backend.sessionCount > 0 || this.keepsWarm(key)) return;
      this.stopIdle(key, backend);
    }, this.options.childIdleTimeoutMs);
    timer.unref();
    this.idleTimers.set(key, timer);
  }

  private stopIdle(key: string, backend: Backend): void {
    this.children.delete(key);
    this.lastUsed.delete(key);
    this.options.log(`stopping the idle child of ${key}`);
    void backend.stop();
  }

  /**
   * The shared child used last stays, warm for whoever comes next (unless the server asks its clients). A
   * project's children, and shared children of other handshakes (a client that came once, an older version), go
   * once idle.
   */
  private keepsWarm(key: string): boolean {
    // Once the server was seen asking its clients, the sessions that kept the shared child warm get their own.
    if (!key.startsWith("shared") || this.options.asksClients?.()) return false;
    let latest: string | undefined;
    for (const [other, at] of this.lastUsed) {
      if (other.startsWith("shared") && (latest === undefined || at >= this.lastUsed.get(latest)!)) latest = other;
    }
    return (latest ?? key) === key;
  }

  status() {
    return [...[...this.children].map(([key, backend]) => ({ scope: key, ...backend.status() })), ...(this.options.spare?.status() ?? [])];
  }

  async stopAll(): Promise<void> {
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    await Promise.all([
      ...[...this.children.values()].map((backend) => backend.stop()),
      this.options.spare?.stop("the daemon is stopping"),
    ]);
    this.children.clear();
  }
}

/**
 * Where a server's first child runs, as far as it is known before any session comes (a spare is started there
 * ahead, by the daemon or by its starter): the entry's own directory; the home directory for a `shared` server
 * that does not ask its clients; else the first session's project, when the starter named it (`firstProject`
 * checks it, asked only then).
 */
export function firstChildCwd(
  server: { cwd?: string; scope: Scope; asksClients: boolean },
  firstProject: () => string | undefined,
): string | undefined {
  if (server.cwd) return server.cwd;
  return server.scope === "shared" && !server.asksClients ? homedir() : firstProject();
}
