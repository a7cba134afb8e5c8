import type { Clock, Timer } from "../runtime/clock.js";
import { sameSpec, type ChildConnection, type ChildSpec, type SpawnChild } from "./child-connection.js";

export interface SpareChildOptions {
  spawn: SpawnChild;
  clock: Clock;
  log: (line: string) => void;
  /** A spare nobody took within this long is stopped: no session came, and none of its children runs idle. */
  unusedAfterMs: number;
  onChildStarted?: (pid: number) => void;
  onChildExited?: (pid: number) => void;
}

/**
 * A stdio server spawned when the daemon starts, before any session has come: a session that starts the daemon
 * would otherwise wait for the daemon's own start and then for the server's, one after the other. The server
 * loads its code meanwhile and reads its stdin only once the first session's `initialize` is written to it.
 * It is offered once, to the first child the daemon starts: taken when that child's spec is the spare's (same
 * command, arguments, environment and directory), stopped otherwise.
 */
export class SpareChild {
  private spare: ChildConnection | undefined;
  private spec: ChildSpec | undefined;
  private timer: Timer | undefined;
  /** A stop under way (its grace period, then SIGKILL): whoever stops the daemon waits for it too. */
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SpareChildOptions) {}

  /** Spawns the spare; a spawn that fails is only logged (the first session's start will report its own). */
  start(spec: ChildSpec): void {
    const { log } = this.options;
    let child: ChildConnection;
    try {
      child = this.options.spawn(spec, log);
    } catch (error) {
      log(`no spare child: ${(error as Error).message}`);
      return;
    }
    log(`started spare child pid ${child.pid} ahead of the first session`);
    this.keep(child, spec);
  }

  /** Takes `child`, already running as `spec` (started by the daemon's starter: adopted-child.ts), as the spare. */
  adopt(child: ChildConnection, spec: ChildSpec): void {
    this.options.log(`took child pid ${child.pid}, started ahead by this daemon's starter, as the spare for the first session`);
    this.keep(child, spec);
  }

  private keep(child: ChildConnection, spec: ChildSpec): void {
    const { log } = this.options;
    this.spare = child;
    this.spec = spec;
    if (child.pid !== undefined) this.options.onChildStarted?.(child.pid);
    // Nothing was written to it: a server that speaks first has nobody to speak to.
    child.onmessage = (_message, text) => log(`spare child pid ${child.pid} wrote before initialize (dropped): ${text.slice(0, 200)}`);
    child.onexit = (reason) => {
      if (this.spare !== child) return;
      log(`spare child pid ${child.pid} ${reason} before any session came`);
      this.forget();
      if (child.pid !== undefined) this.options.onChildExited?.(child.pid);
    };
    this.timer = this.options.clock.setTimeout(() => void this.stop("no session came"), this.options.unusedAfterMs);
    this.timer.unref();
  }

  /** Starts a child for `spec`: the spare when it was started for the same spec and still runs, else a new one. */
  readonly spawn: SpawnChild = (spec, log) => {
    const spare = this.spare;
    if (spare && this.spec && sameSpec(spec, this.spec)) {
      this.forget(); // its handlers are replaced by the caller's at once
      log(`child pid ${spare.pid} was started ahead as a spare`);
      return spare;
    }
    if (spare) void this.stop("the first child needs another directory or environment");
    return this.options.spawn(spec, log);
  };

  /** The spare as the daemon's list of children shows it: started, waiting for the first session. */
  status() {
    const spare = this.spare;
    if (!spare) return [];
    return [
      { scope: "spare, for the first session", state: "waiting", pid: spare.pid, restarts: 0, restartLog: [], sessions: 0, inFlight: 0 },
    ];
  }

  /**
   * Stops the spare, if one is still waiting (the daemon stops or drains, or nobody took it); resolves once it is
   * gone, and so does a later call while that stop is under way (a daemon must not exit before its spare).
   */
  stop(why: string): Promise<void> {
    const spare = this.spare;
    if (!spare) return this.stopping ?? Promise.resolve();
    this.forget();
    this.options.log(`stopping spare child pid ${spare.pid}: ${why}`);
    spare.onexit = () => {};
    const stopping = (async () => {
      await spare.stop();
      if (spare.pid !== undefined) this.options.onChildExited?.(spare.pid);
    })();
    this.stopping = stopping;
    void stopping.finally(() => {
      if (this.stopping === stopping) this.stopping = undefined;
    });
    return stopping;
  }

  private forget(): void {
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.spare = undefined;
    this.spec = undefined;
  }
}
