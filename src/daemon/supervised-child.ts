import type { JsonRpcMessage, JsonRpcResponse } from "../protocol/json-rpc.js";
import type { Clock, Timer } from "../runtime/clock.js";
import { RestartHistory } from "../runtime/restart-history.js";
import { RestartPolicy, type RestartRule } from "../runtime/restart-policy.js";
import type { ChildConnection, ChildSpec, SpawnChild } from "./child-connection.js";

export interface SupervisedChildOptions {
  spec: ChildSpec;
  spawn: SpawnChild;
  clock: Clock;
  restart: RestartRule;
  /** How long starting and initializing may take, and how long the child may take to answer our own requests. */
  startTimeoutMs: number;
  /** The daemon's log, named in the error a failed child's requests get. */
  logFile: string;
  log: (line: string) => void;
  /** Whether anyone still needs the child: a child that dies with nobody attached is started again on demand. */
  wanted: () => boolean;
  onChildStarted?: (pid: number) => void;
  onChildExited?: (pid: number) => void;
}

export type ChildState = "idle" | "starting" | "ready" | "backing-off" | "failed" | "stopped";

/** A failed child is tried again when a request comes this long after it gave up (the cause may be gone). */
export const RETRY_FAILED_AFTER_MS = 60_000;

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  timer: Timer;
}

interface InternalRequest {
  resolve: (response: JsonRpcResponse) => void;
  reject: (error: Error) => void;
  timer: Timer;
}

/**
 * One supervised stdio server: started on demand, initialized once with the first session's `initialize` (whose
 * answer is kept), restarted by the restart policy when it dies, given up on as `failed` when it keeps dying (and
 * tried again a minute later), and an `initialize` it never answers counts as a failed start. Its own requests
 * (`request`) are bounded by the start timeout and fail when it dies. It knows nothing of sessions.
 */
export class SupervisedChild {
  /** A message from the running child that is not the answer to one of our own requests. */
  onmessage: ChildConnection["onmessage"] = () => {};
  /** The child died: whatever was sent to it is lost. */
  onexit: (reason: string) => void = () => {};
  /** The child runs and is initialized; `restarted` when it is not the first one. */
  onready: (restarted: boolean) => void = () => {};

  private connection: ChildConnection | undefined;
  private state: ChildState = "idle";
  private initializeParams: Record<string, unknown> | undefined;
  private result: Record<string, unknown> | undefined;
  private nextChildId = 1;
  private readonly internal = new Map<number, InternalRequest>();
  private waiters: Waiter[] = [];
  private readonly policy: RestartPolicy;
  private starts = 0;
  private restarts = 0;
  private readonly history: RestartHistory;
  private startedAt = 0;
  private failedAt = 0;
  private lastError: string | undefined;
  /** Why we are stopping the current child ourselves, when we are: its exit is then reported with this reason. */
  private stopReason: string | undefined;
  private restartTimer: Timer | undefined;

  constructor(private readonly options: SupervisedChildOptions) {
    this.policy = new RestartPolicy(options.restart);
    this.history = new RestartHistory(() => options.clock.now());
  }

  get ready(): boolean {
    return this.state === "ready";
  }

  /** The child's answer to `initialize`; set once it has been ready. */
  get initializeResult(): Record<string, unknown> | undefined {
    return this.result;
  }

  /** The handshake the child is started with: the first one given is kept for every start. */
  /** The capabilities the client that initialized the child declared (every session of it has the same). */
  get clientCapabilities(): Record<string, unknown> {
    return (this.initializeParams?.capabilities as Record<string, unknown> | undefined) ?? {};
  }

  initializeWith(params: Record<string, unknown>): void {
    this.initializeParams ??= params;
  }

  /** A fresh id in the child's id space, for requests sent with `send`. */
  nextId(): number {
    return this.nextChildId++;
  }

  status() {
    return {
      state: this.state,
      pid: this.connection?.pid,
      restarts: this.restarts,
      lastError: this.lastError,
      restartLog: this.history.list(),
    };
  }

  /** Resolves once the child runs and is initialized, starting it when needed; rejects with the reason it cannot. */
  whenReady(): Promise<void> {
    if (this.state === "ready") return Promise.resolve();
    if (this.state === "stopped") return Promise.reject(new Error("the server is stopping"));
    if (!this.initializeParams) return Promise.reject(new Error("no session has initialized the server"));
    if (this.state === "failed") {
      if (this.options.clock.now() - this.failedAt < RETRY_FAILED_AFTER_MS) return Promise.reject(new Error(this.failedMessage()));
      this.policy.reset(); // long enough: the cause may be fixed, try once more
    }
    // Launched first, so that a start that times out is reported with its own reason before a waiter gives up.
    if (this.state === "idle" || this.state === "failed") this.launch();
    if (this.state === "failed") return Promise.reject(new Error(this.failedMessage())); // it could not even be spawned
    const timeout = this.options.startTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const timer = this.options.clock.setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.timer !== timer);
        reject(new Error(`the server is not ready after ${timeout} ms (${this.lastError ?? "still starting"})`));
      }, timeout);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  /** Sends a message to the running child; false when there is none or it does not keep up reading. */
  send(message: JsonRpcMessage, text?: string): boolean {
    return this.connection?.send(text ?? JSON.stringify(message)) ?? false;
  }

  /** A request of the daemon's own to the running child, answered within the start timeout or rejected. */
  request(method: string, params: Record<string, unknown>): Promise<JsonRpcResponse> {
    const connection = this.connection;
    if (!connection) return Promise.reject(new Error("the server is not running"));
    const id = this.nextId();
    const ms = this.options.startTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = this.options.clock.setTimeout(() => {
        this.internal.delete(id);
        reject(new Error(`the server did not answer ${method} within ${ms} ms`));
      }, ms);
      this.internal.set(id, { resolve, reject, timer });
      if (!connection.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }))) {
        this.settleInternal(id, new Error(`the server does not read its input (${method} not sent)`));
      }
    });
  }

  private settleInternal(id: number, outcome: JsonRpcResponse | Error): void {
    const waiter = this.internal.get(id);
    if (!waiter) return;
    this.internal.delete(id);
    this.options.clock.clearTimeout(waiter.timer);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  private launch(): void {
    this.state = "starting";
    this.stopReason = undefined;
    if (this.starts++ > 0) this.restarts += 1;
    const { spec, log } = this.options;
    let connection: ChildConnection;
    try {
      connection = this.options.spawn(spec, log);
    } catch (error) {
      // Out of file descriptors or processes: a failed start like any other, never a stuck "starting" state.
      return this.startFailed(`the server could not be started: ${(error as Error).message}`);
    }
    this.connection = connection;
    this.startedAt = this.options.clock.now();
    connection.onmessage = (message, text, bytes) => this.fromChild(connection, message, text, bytes);
    connection.onexit = (reason) => this.exited(connection, reason);
    log(`started child pid ${connection.pid}: ${[spec.command, ...spec.args].join(" ")}`);
    if (connection.pid !== undefined) this.options.onChildStarted?.(connection.pid);
    // Unanswered within the start timeout: a failed start, said before any waiter gives up on it.
    const ms = this.options.startTimeoutMs;
    const deadline = this.options.clock.setTimeout(() => this.kill(connection, `the server did not answer initialize within ${ms} ms`), ms);
    void this.initialize(connection).finally(() => this.options.clock.clearTimeout(deadline));
  }

  private async initialize(connection: ChildConnection): Promise<void> {
    let response: JsonRpcResponse;
    try {
      response = await this.request("initialize", this.initializeParams!);
    } catch (error) {
      // Not sent, or not answered in time: a failed start. Its exit brings the backoff.
      if (connection === this.connection && this.stopReason === undefined) this.kill(connection, (error as Error).message);
      return;
    }
    if (connection !== this.connection) return;
    if ("error" in response) {
      const why = `the server refused initialize: ${response.error.message}`;
      this.settleWaiters(new Error(why)); // it will refuse again: do not keep sessions waiting for retries
      return this.kill(connection, why);
    }
    this.result = response.result;
    connection.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    this.state = "ready";
    this.onready(this.restarts > 0);
    this.settleWaiters();
  }

  private kill(connection: ChildConnection, reason: string): void {
    this.stopReason = reason;
    this.lastError = reason;
    void connection.stop();
  }

  private fromChild(connection: ChildConnection, message: JsonRpcMessage, text: string, bytes?: Buffer): void {
    if (connection !== this.connection) return;
    if (!("method" in message) && typeof message.id === "number" && this.internal.has(message.id)) {
      return this.settleInternal(message.id, message);
    }
    this.onmessage(message, text, bytes);
  }

  private exited(connection: ChildConnection, reason: string): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    if (connection.pid !== undefined) this.options.onChildExited?.(connection.pid);
    this.options.log(`child pid ${connection.pid} ${reason}${this.stopReason ? ` (${this.stopReason})` : ""}`);
    // Sessions are told that it exited, not how: an exit code or signal is known for a child this daemon spawned
    // and not for one its starter handed over, so it would tell them who started it. The log and status say how.
    const told = this.stopReason ?? "the server exited";
    for (const id of [...this.internal.keys()]) this.settleInternal(id, new Error(told));
    if (this.state === "stopped") return;
    this.onexit(told);
    this.startFailed(this.stopReason ?? `the server ${reason}`, this.state === "ready" ? this.options.clock.now() - this.startedAt : 0);
  }

  /** The child is gone after running `ranForMs` (0: it never came up): restart it, later or on demand, or give up. */
  private startFailed(why: string, ranForMs = 0): void {
    const { clock, log } = this.options;
    this.lastError = why;
    const decision = this.policy.crashed(ranForMs);
    if (!this.options.wanted()) {
      this.state = "idle"; // started again on demand
      return;
    }
    if (!decision.restart) {
      this.state = "failed";
      this.failedAt = clock.now();
      log(`giving up: ${this.failedMessage()}`);
      this.history.record(`${why}; gave up after ${this.policy.failuresInARow} failures in a row`);
      return this.settleWaiters(new Error(this.failedMessage()));
    }
    this.state = "backing-off";
    log(`restarting the server in ${decision.delayMs} ms`);
    this.history.record(`${why}; restarted after ${decision.delayMs} ms`);
    this.restartTimer = clock.setTimeout(() => {
      if (this.state === "backing-off") this.launch();
    }, decision.delayMs);
  }

  private settleWaiters(error?: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      this.options.clock.clearTimeout(waiter.timer);
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }

  private failedMessage(): string {
    return (
      `the server failed ${this.policy.failuresInARow} times in a row (last: ${this.lastError ?? "unknown"}) ` +
      `and is not restarted for now; see ${this.options.logFile}`
    );
  }

  /** Stops the child (its whole process group) and refuses further work. */
  async stop(): Promise<void> {
    this.state = "stopped";
    this.options.clock.clearTimeout(this.restartTimer);
    this.settleWaiters(new Error("the server is stopping"));
    const connection = this.connection;
    this.connection = undefined;
    for (const id of [...this.internal.keys()]) this.settleInternal(id, new Error("the server is stopping"));
    await connection?.stop();
    if (connection?.pid !== undefined) this.options.onChildExited?.(connection.pid);
  }
}
