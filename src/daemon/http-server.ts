import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { homedir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { SpawnedHttpServer } from "../config/server-config.js";
import { logTail } from "../logging/log-tail.js";
import { describePortOwner, listenerUid, portInUse } from "../process/port-owner.js";
import { endGroupRemnants, terminate } from "../process/terminate.js";
import { isListening } from "../runtime/port-probe.js";
import { RestartHistory } from "../runtime/restart-history.js";
import { RestartPolicy, type RestartRule } from "../runtime/restart-policy.js";
import { STOP_GRACE_MS } from "./stdio-child.js";
import { RETRY_FAILED_AFTER_MS } from "./supervised-child.js";

type State = "starting" | "ready" | "backing-off" | "failed" | "stopped";

/** How often the port of a server that is starting is tried. */
const PORT_POLL_MS = 50;
/** A running server that misses this many checks in a row is restarted (as the manager judges its daemons). */
const MISSES_BEFORE_RESTART = 3;
const CHECK_TIMEOUT_MS = 2000;
const CHECK_INTERVAL_MS = 10_000;

export interface HttpServerOptions {
  server: SpawnedHttpServer;
  restart: RestartRule;
  log: (line: string) => void;
  /** The daemon's log, where the server writes its output itself (no relaying of a chatty server's lines). */
  logFile: string;
  onStarted: (pid: number) => void;
  onExited: (pid: number) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The HTTP server a daemon runs for an entry with `command` and `port`: started from its command in a process
 * group of its own, in the entry's directory (else the home directory), ready once its port takes connections,
 * restarted by the restart rule when it dies, stopped with its group. Its sessions are the relay's
 * (http-relay.ts), which find it again after a restart.
 *
 * The port is the server's only address, and nothing there proves itself: so it must be free before the server
 * starts, and (where /proc shows it) the listener must then be this user's or root's. Another user's listener
 * there is reported and never sent anything.
 */
export class HttpServerProcess {
  private state: State = "stopped";
  private child: ChildProcess | undefined;
  private startedAt = 0;
  private failedAt = 0;
  private lastError: string | undefined;
  /** Starts after the first, counted as they happen (as for a stdio child): a restart waiting out its delay is not one yet. */
  private restarts = 0;
  private starts = 0;
  private waiters: Waiter[] = [];
  /** Why this daemon stopped the server it is starting (a stranger on its port, no port in time). */
  private stopReason: string | undefined;
  private backoff: NodeJS.Timeout | undefined;
  private readonly policy: RestartPolicy;
  private readonly history = new RestartHistory();
  private readonly url: URL;
  /** The process group of the server started last: what it left running is ended with it. */
  private group: number | undefined;
  /** Checks in a row that found the port not taking connections. */
  private missed = 0;
  private checking = false;
  private watch: NodeJS.Timeout | undefined;

  constructor(private readonly options: HttpServerOptions) {
    this.policy = new RestartPolicy(options.restart);
    this.url = new URL(options.server.url);
    // A daemon that exits without stopping its server (an error nothing else caught) still asks it to go.
    process.once("exit", () => {
      if (this.state === "stopped" || this.group === undefined || process.platform === "win32") return;
      try {
        process.kill(-this.group, "SIGTERM");
      } catch {
        // gone already
      }
    });
  }

  /** Starts the server, unless it runs or is starting; from then on it is checked until stopped. */
  start(): void {
    this.watch ??= setInterval(() => void this.check(), CHECK_INTERVAL_MS).unref();
    if (this.state === "starting" || this.state === "ready" || this.state === "backing-off") return;
    void this.launch();
  }

  /** Resolves once the server listens, starting it again if it had given up a while ago; rejects with why not. */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.state === "ready") return Promise.resolve();
    if (this.state === "failed" && Date.now() - this.failedAt >= RETRY_FAILED_AFTER_MS) {
      this.policy.reset(); // long enough: the cause may be fixed, try once more
      this.start();
    }
    if (this.state === "failed") return Promise.reject(new Error(this.failedMessage()));
    if (this.state === "stopped") return Promise.reject(new Error("the server is stopping"));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        const why = this.lastError ? ` (last: ${this.lastError})` : "";
        reject(new Error(`the server did not listen on port ${this.options.server.port} within ${timeoutMs} ms${why}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  status() {
    return {
      state: this.state,
      pid: this.child?.pid,
      port: this.options.server.port,
      restarts: this.restarts,
      lastError: this.lastError,
      restartLog: this.history.list(),
    };
  }

  /** Stops the server and its process group; nothing restarts it afterwards. */
  async stop(): Promise<void> {
    this.state = "stopped";
    clearTimeout(this.backoff);
    clearInterval(this.watch);
    this.settle(new Error("the server is stopping"));
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      await terminate(child.pid, { graceMs: STOP_GRACE_MS, politeTo: "group", exited: exitOf(child) });
    } else if (this.group !== undefined) await endGroupRemnants(this.group, STOP_GRACE_MS);
  }

  /**
   * A server that runs but no longer takes connections (hung, or its listener closed) is stopped after three
   * checks in a row, and its exit restarts it.
   */
  private async check(): Promise<void> {
    const child = this.child;
    if (this.state !== "ready" || child?.pid === undefined || this.checking) return;
    this.checking = true;
    try {
      if (await isListening(this.url, CHECK_TIMEOUT_MS)) return void (this.missed = 0);
      if (++this.missed < MISSES_BEFORE_RESTART || this.child !== child || this.state !== "ready") return;
      this.stopReason = `the HTTP server took no connection on port ${this.options.server.port} ${MISSES_BEFORE_RESTART} times in a row`;
      this.options.log(`${this.stopReason} (pid ${child.pid}); stopping it`);
      void terminate(child.pid, { graceMs: STOP_GRACE_MS, politeTo: "group", exited: exitOf(child) });
    } finally {
      this.checking = false;
    }
  }

  private async launch(): Promise<void> {
    const { server, log } = this.options;
    this.state = "starting";
    this.startedAt = Date.now();
    if (this.starts++ > 0) this.restarts += 1;
    if (await isListening(this.url)) {
      const taken = portInUse(server.port, "a server this daemon started", server.name);
      return this.crashed(taken, 0, taken);
    }
    if (this.state !== "starting") return; // stopped meanwhile
    let child: ChildProcess;
    const output = openOutput(this.options.logFile);
    try {
      child = spawn(server.command, server.args, {
        cwd: server.cwd ?? homedir(),
        env: { ...process.env, ...server.env },
        stdio: ["ignore", output, output],
        detached: true,
        shell: false,
        windowsHide: true,
      });
    } catch (error) {
      return this.crashed(`could not be started: ${(error as Error).message}`, 0);
    } finally {
      if (typeof output === "number") closeSync(output); // the server has its own
    }
    this.child = child;
    this.group = child.pid;
    this.missed = 0;
    this.stopReason = undefined;
    child.once("error", (error) => this.exited(child, `could not be started: ${error.message}`));
    child.once("exit", (code, signal) => this.exited(child, signal ? `was killed by ${signal}` : `exited with code ${code}`));
    if (child.pid === undefined) return;
    const pid = child.pid;
    this.options.onStarted(pid);
    log(`started the HTTP server (pid ${pid}): ${[server.command, ...server.args].join(" ")}`);
    await this.awaitPort(child, pid);
  }

  /** Waits for the server's port; the listener found there must be the server's, or it is a stranger's. */
  private async awaitPort(child: ChildProcess, pid: number): Promise<void> {
    const { server, log } = this.options;
    const deadline = this.startedAt + server.startTimeoutMs;
    while (this.child === child && this.state === "starting") {
      if (await isListening(this.url)) {
        if (this.child !== child || this.state !== "starting") return;
        const stranger = strangerOn(server.port);
        if (stranger) {
          this.stopReason = `port ${server.port} is held by ${stranger}, another user, not by the server started (pid ${pid})`;
          log(this.stopReason);
          void terminate(pid, { graceMs: STOP_GRACE_MS, politeTo: "group", exited: exitOf(child) });
          return;
        }
        this.state = "ready";
        log(`the HTTP server (pid ${pid}) listens on ${this.url.origin}`);
        return this.settle();
      }
      if (Date.now() > deadline) {
        this.stopReason = `the HTTP server did not listen on port ${server.port} within ${server.startTimeoutMs} ms`;
        log(`${this.stopReason} (pid ${pid}); stopping it`);
        void terminate(pid, { graceMs: STOP_GRACE_MS, politeTo: "group", exited: exitOf(child) });
        return;
      }
      await sleep(PORT_POLL_MS);
    }
  }

  private exited(child: ChildProcess, how: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    void this.afterExit(child.pid, how, this.state);
  }

  /**
   * What a wrapper (`npx`, `uvx`, a shell) started may outlive it, holding the port: the group is ended before
   * the server is started again, and the server stays listed as the daemon's child until then.
   */
  private async afterExit(pid: number | undefined, how: string, state: State): Promise<void> {
    if (pid !== undefined) {
      await endGroupRemnants(pid, STOP_GRACE_MS);
      this.options.onExited(pid);
    }
    if (this.state === "stopped") return;
    // Why it was stopped (a stranger, no port in time, no answer) says more than how it ended.
    const why = this.stopReason ?? `the HTTP server ${how}`;
    const ranForMs = state === "ready" ? Date.now() - this.startedAt : 0;
    if (state !== "starting") return this.crashed(why, ranForMs);
    const toWaiters = `${this.stopReason ?? `${why} during start-up`}${logTail(this.options.logFile, true)}; see ${this.options.logFile}`;
    this.crashed(why, ranForMs, toWaiters);
  }

  /**
   * The server is gone, or did not come up: restarted by the rule, or given up. Sessions waiting for a start that
   * failed get `toWaiters` at once (the same cause usually fails the next start too); restarts go on for later ones.
   */
  private crashed(why: string, ranForMs: number, toWaiters?: string): void {
    const { log } = this.options;
    if (toWaiters) this.settle(new Error(toWaiters));
    this.lastError = why;
    const decision = this.policy.crashed(ranForMs);
    if (!decision.restart) {
      this.state = "failed";
      this.failedAt = Date.now();
      this.history.record(`${why}; gave up after ${this.policy.failuresInARow} failures in a row`);
      log(`${why}; giving up after ${this.policy.failuresInARow} failures in a row`);
      return this.settle(new Error(this.failedMessage()));
    }
    this.history.record(`${why}; restarted after ${decision.delayMs} ms`);
    log(`${why}; starting it again in ${decision.delayMs} ms`);
    this.state = "backing-off";
    this.backoff = setTimeout(() => {
      if (this.state === "backing-off") void this.launch();
    }, decision.delayMs);
  }

  private failedMessage(): string {
    return (
      `the HTTP server keeps failing (${this.lastError ?? "no reason known"}): given up for now, it is tried again by the ` +
      `first session ${RETRY_FAILED_AFTER_MS / 1000} s after its last failure, or by mcp-manager start ${this.options.server.name}; ` +
      `see ${this.options.logFile}`
    );
  }

  private settle(error?: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }
}

/** The log file, opened for the server to append to; nowhere if it cannot be opened (the home removed meanwhile). */
function openOutput(logFile: string): number | "ignore" {
  try {
    return openSync(logFile, "a", 0o600);
  } catch {
    return "ignore";
  }
}

function exitOf(child: ChildProcess): Promise<unknown> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", resolve));
}

/**
 * Who holds `port`, when it is another user: the threat this guards against (you and root can do anything anyway).
 * A listener of yours or root's may be the server's own helper: a container runtime's port forwarder, say.
 * Undefined where the system does not say (not Linux): there the port was free before the server started.
 */
function strangerOn(port: number): string | undefined {
  const uid = listenerUid(port);
  if (uid === undefined || !process.getuid || uid === process.getuid() || uid === 0) return undefined;
  return describePortOwner(port);
}
