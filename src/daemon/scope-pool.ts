import type { ServerConfig } from "../config/schema.js";
import type { Backend } from "./backend.js";
import type { ChildRegistry } from "./child-registry.js";
import { Multiplexer } from "./multiplexer.js";

export interface PoolOptions {
  log: (line: string) => void;
  registry?: ChildRegistry;
  /** Crashes in a row after which a child is left failed (requests then get an error at once). */
  restartLimit: number;
  /** The daemon's log, named in errors. */
  logFile: string;
  /** Builds the backend of a scope; by default a Multiplexer running the server's command. */
  create?: (key: string, cwd: string | undefined) => Backend;
}

/**
 * Which child serves a session, by the server's sharing scope: one for everybody (`shared`), one per canonical
 * project path started in that directory (`project`), or one per session (`session`). Children of the last two
 * are stopped once no session has used them for the idle time.
 */
export class ScopePool {
  private readonly children = new Map<string, Backend>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();

  private readonly log: (line: string) => void;
  private readonly create: (key: string, cwd: string | undefined) => Backend;

  constructor(
    private readonly server: ServerConfig,
    private readonly options: PoolOptions,
  ) {
    this.log = options.log;
    this.create = options.create ?? ((key, cwd) => this.multiplexer(key, cwd));
  }

  keyFor(projectPath: string | undefined, sessionId: string): { key: string; cwd: string | undefined } {
    switch (this.server.scope) {
      case "shared":
        return { key: "shared", cwd: this.server.cwd };
      case "project":
        return { key: `project:${projectPath ?? ""}`, cwd: projectPath ?? this.server.cwd };
      case "session":
        return { key: `session:${sessionId}`, cwd: this.server.cwd };
    }
  }

  acquire(key: string, cwd: string | undefined): Backend {
    clearTimeout(this.idleTimers.get(key));
    this.idleTimers.delete(key);
    let backend = this.children.get(key);
    if (!backend) {
      backend = this.create(key, cwd);
      this.children.set(key, backend);
    }
    return backend;
  }

  private multiplexer(key: string, cwd: string | undefined): Multiplexer {
    const label = key === "shared" ? "" : ` [${key}]`;
    const registry = this.options.registry;
    return new Multiplexer({
      child: {
        command: this.server.command!,
        args: this.server.args,
        env: this.server.env,
        ...(cwd ? { cwd } : {}),
      },
      startTimeoutMs: this.server.startTimeoutMs,
      restartLimit: this.options.restartLimit,
      logFile: this.options.logFile,
      log: (line) => this.log(`${line}${label}`),
      ...(registry ? { onChildStarted: (pid: number) => registry.add(pid), onChildExited: (pid: number) => registry.remove(pid) } : {}),
    });
  }

  /** A session left this child: stop it after the idle time if nobody else uses it (never for `shared`). */
  released(key: string): void {
    const backend = this.children.get(key);
    if (!backend || backend.sessionCount > 0 || this.server.scope === "shared") return;
    clearTimeout(this.idleTimers.get(key));
    const timer = setTimeout(() => {
      this.idleTimers.delete(key);
      if (backend.sessionCount > 0) return;
      this.children.delete(key);
      this.log(`stopping the idle child of ${key}`);
      void backend.stop();
    }, this.server.childIdleTimeoutMs);
    timer.unref();
    this.idleTimers.set(key, timer);
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
