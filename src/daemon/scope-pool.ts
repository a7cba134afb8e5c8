import type { ServerConfig } from "../config/schema.js";
import type { ChildRegistry } from "./child-registry.js";
import { Multiplexer } from "./multiplexer.js";

/**
 * Which child serves a session, by the server's sharing scope: one for everybody (`shared`), one per canonical
 * project path started in that directory (`project`), or one per session (`session`). Children of the last two
 * are stopped once no session has used them for the idle time.
 */
export class ScopePool {
  private readonly children = new Map<string, Multiplexer>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly server: ServerConfig,
    private readonly log: (line: string) => void,
    private readonly registry?: ChildRegistry,
  ) {}

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

  acquire(key: string, cwd: string | undefined): Multiplexer {
    clearTimeout(this.idleTimers.get(key));
    this.idleTimers.delete(key);
    let multiplexer = this.children.get(key);
    if (!multiplexer) {
      const label = key === "shared" ? "" : ` [${key}]`;
      multiplexer = new Multiplexer({
        child: {
          command: this.server.command!,
          args: this.server.args,
          env: this.server.env,
          ...(cwd ? { cwd } : {}),
        },
        startTimeoutMs: this.server.startTimeoutMs,
        log: (line) => this.log(`${line}${label}`),
        ...(this.registry
          ? { onChildStarted: (pid: number) => this.registry!.add(pid), onChildExited: (pid: number) => this.registry!.remove(pid) }
          : {}),
      });
      this.children.set(key, multiplexer);
    }
    return multiplexer;
  }

  /** A session left this child: stop it after the idle time if nobody else uses it (never for `shared`). */
  released(key: string): void {
    const multiplexer = this.children.get(key);
    if (!multiplexer || multiplexer.sessionCount > 0 || this.server.scope === "shared") return;
    clearTimeout(this.idleTimers.get(key));
    const timer = setTimeout(() => {
      this.idleTimers.delete(key);
      if (multiplexer.sessionCount > 0) return;
      this.children.delete(key);
      this.log(`stopping the idle child of ${key}`);
      void multiplexer.stop();
    }, this.server.childIdleTimeoutMs);
    timer.unref();
    this.idleTimers.set(key, timer);
  }

  status() {
    return [...this.children].map(([key, multiplexer]) => ({ scope: key, ...multiplexer.status() }));
  }

  async stopAll(): Promise<void> {
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    await Promise.all([...this.children.values()].map((multiplexer) => multiplexer.stop()));
    this.children.clear();
  }
}
