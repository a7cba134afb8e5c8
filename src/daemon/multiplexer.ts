import {
  ErrorCode,
  errorResponse,
  idKey,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
} from "../protocol/json-rpc.js";
import type { Backend } from "./backend.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { StdioChild, type StdioChildSpec } from "./stdio-child.js";

/** What the multiplexer needs of a client session. */
export interface SessionPort {
  readonly id: string;
  /** The canonical project directory the session named, if it named a valid one. */
  readonly projectPath?: string | undefined;
  /** Sends a message to the client; `related` names the client's request it belongs to, if any. */
  deliver(message: JsonRpcMessage, related?: RequestId): void;
}

export interface MultiplexerOptions {
  child: StdioChildSpec;
  /** How long a request waits for the child to be (re)started and initialized. */
  startTimeoutMs: number;
  /** Restarts in a row (each after a crash within a minute of its start) before the child is left `failed`. */
  restartLimit: number;
  /** The daemon's log, named in the error a failed child's requests get. */
  logFile: string;
  log: (line: string) => void;
  /** Told when a child process starts and when it is gone, so a registry can track them. */
  onChildStarted?: (pid: number) => void;
  onChildExited?: (pid: number) => void;
}

/** A client request forwarded to the child under an id of the child's id space. */
interface Forwarded {
  session: SessionPort;
  id: RequestId;
  method: string;
  /** The progress token the client chose, and the one the child sees. */
  progress?: { client: string | number; child: string };
}

/** A server->client request handed to one session under a daemon-chosen id. */
interface RoutedServerRequest {
  session: SessionPort;
  /** The id the session sees, and the child's own id for the same request. */
  id: number;
  childId: RequestId;
}

/** JSON-RPC code for a request the client cancelled (the client ignores this answer; it closes the exchange). */
const REQUEST_CANCELLED = -32800;
/** Cancellations that arrived before their request (separate POSTs can overtake each other). */
const MAX_EARLY_CANCELS = 1000;

const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
const MAX_BACKOFF_MS = 30_000;
/** A child that ran this long before dying is not crash-looping: restart quickly again. */
const STABLE_AFTER_MS = 60_000;

type ChildState = "idle" | "starting" | "ready" | "backing-off" | "failed" | "stopped";
/** A failed child is tried again when a request comes this long after it gave up (the cause may be gone). */
const RETRY_FAILED_AFTER_MS = 60_000;

/**
 * One stdio server shared by many sessions, and nobody can tell. Ids are rewritten into the child's id space
 * and back; `initialize` reaches the child once and later sessions get the cached result; progress tokens,
 * cancellations and server requests are mapped per session; notifications go to whoever should see them.
 * A child that dies is restarted with backoff and re-initialized; its sessions carry on.
 */
export class Multiplexer implements Backend {
  private child: StdioChild | undefined;
  private state: ChildState = "idle";
  private ready: Promise<void> | undefined;
  private initializeParams: Record<string, unknown> | undefined;
  private initializeResult: Record<string, unknown> | undefined;
  private nextChildId = 1;
  private nextServerRequestId = 1;
  private readonly forwarded = new Map<string, Forwarded>();
  /** `<session>\0<client id key>` -> child id, to translate cancellations. */
  private readonly byClientId = new Map<string, number>();
  private readonly progress = new Map<string, Forwarded>();
  private readonly serverRequests = new Map<string, RoutedServerRequest>();
  private readonly internal = new Map<string, (response: JsonRpcResponse) => void>();
  private readonly sessions = new Set<SessionPort>();
  private readonly subscriptions = new Map<string, Set<SessionPort>>();
  private readonly logLevels = new Map<SessionPort, string>();
  private readonly earlyCancels = new Set<string>();
  private restarts = 0;
  private failures = 0;
  private startedAt = 0;
  private lastError: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failedAt = 0;

  constructor(private readonly options: MultiplexerOptions) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  status() {
    return {
      state: this.state,
      pid: this.child?.alive ? this.child.pid : undefined,
      sessions: this.sessions.size,
      restarts: this.restarts,
      inFlight: this.forwarded.size,
      lastError: this.lastError,
    };
  }

  attach(session: SessionPort): void {
    this.sessions.add(session);
  }

  /** The session is gone (DELETE, reaped): its requests are cancelled at the child, its subscriptions dropped. */
  detach(session: SessionPort): void {
    if (!this.sessions.delete(session)) return;
    for (const [key, entry] of [...this.forwarded]) {
      if (entry.session !== session) continue;
      this.forget(key, entry);
      this.child?.send({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: Number(key), reason: "client session ended" },
      });
    }
    for (const [key, routed] of [...this.serverRequests]) {
      if (routed.session !== session) continue;
      this.serverRequests.delete(key);
      this.child?.send(errorResponse(routed.childId, ErrorCode.InternalError, "the client session that was asked has ended"));
    }
    for (const [uri, subscribers] of this.subscriptions) {
      if (subscribers.delete(session) && subscribers.size === 0) {
        this.subscriptions.delete(uri);
        void this.internalRequest("resources/unsubscribe", { uri }).catch(() => {});
      }
    }
    this.logLevels.delete(session);
  }

  /** A message from a client session. */
  handle(session: SessionPort, message: JsonRpcMessage): void {
    if (!("method" in message)) return this.fromClientResponse(session, message);
    if (!("id" in message)) return this.fromClientNotification(session, message);
    void this.fromClientRequest(session, message).catch((error: Error) =>
      session.deliver(errorResponse(message.id, ErrorCode.ConnectionClosed, `mcp-session-manager: ${error.message}`), message.id),
    );
  }

  private async fromClientRequest(session: SessionPort, request: JsonRpcRequest): Promise<void> {
    const answer = (result: Record<string, unknown>) => session.deliver({ jsonrpc: "2.0", id: request.id, result }, request.id);
    switch (request.method) {
      case "initialize": {
        // The first session's handshake initializes the child; everyone after gets the same answer, in the
        // protocol version each asked for when the child's is at least as new (messages only gain optional
        // fields from one version to the next), else in the child's.
        this.initializeParams ??= request.params ?? {};
        await this.whenReady();
        const asked = request.params?.protocolVersion;
        const spoken = this.initializeResult!.protocolVersion;
        const agreed =
          typeof asked === "string" && typeof spoken === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(asked) && asked < spoken
            ? asked
            : spoken;
        return answer({ ...this.initializeResult!, protocolVersion: agreed });
      }
      case "resources/subscribe":
      case "resources/unsubscribe": {
        const uri = request.params?.uri;
        if (typeof uri !== "string") break; // let the child report the bad params
        const subscribers = this.subscriptions.get(uri) ?? new Set<SessionPort>();
        const before = subscribers.size;
        if (request.method === "resources/subscribe") subscribers.add(session);
        else subscribers.delete(session);
        if (subscribers.size) this.subscriptions.set(uri, subscribers);
        else this.subscriptions.delete(uri);
        // Counted: the child hears the first subscribe and the last unsubscribe only.
        const changesChild = request.method === "resources/subscribe" ? before === 0 : before > 0 && subscribers.size === 0;
        if (!changesChild) return answer({});
        break;
      }
      case "logging/setLevel": {
        const level = request.params?.level;
        if (typeof level !== "string" || !LOG_LEVELS.includes(level)) break;
        this.logLevels.set(session, level);
        // The child logs at the most verbose level any session asked for; each session is filtered on delivery.
        await this.whenReady();
        const result = await this.internalRequest("logging/setLevel", { level: this.childLogLevel() });
        if ("error" in result) return session.deliver({ ...result, id: request.id }, request.id);
        return answer({});
      }
    }
    if (this.state !== "ready") await this.whenReady(); // the hot path stays synchronous
    if (this.earlyCancels.delete(`${session.id}\0${idKey(request.id)}`)) {
      return session.deliver(errorResponse(request.id, REQUEST_CANCELLED, "Request cancelled"), request.id);
    }
    const childId = this.nextChildId++;
    const entry: Forwarded = { session, id: request.id, method: request.method };
    let params = request.params;
    const meta = params?._meta as Record<string, unknown> | undefined;
    const token = meta?.progressToken;
    if (typeof token === "string" || typeof token === "number") {
      entry.progress = { client: token, child: `p${childId}` };
      params = { ...params, _meta: { ...meta, progressToken: entry.progress.child } };
      this.progress.set(entry.progress.child, entry);
    }
    this.forwarded.set(String(childId), entry);
    this.byClientId.set(`${session.id}\0${idKey(request.id)}`, childId);
    this.child!.send({ jsonrpc: "2.0", id: childId, method: request.method, ...(params ? { params } : {}) });
  }

  private fromClientNotification(session: SessionPort, notification: JsonRpcNotification): void {
    switch (notification.method) {
      case "notifications/initialized":
        return; // the child had its own, once
      case "notifications/cancelled": {
        const requestId = notification.params?.requestId;
        if (typeof requestId !== "string" && typeof requestId !== "number") return;
        const clientKey = `${session.id}\0${idKey(requestId)}`;
        const childId = this.byClientId.get(clientKey);
        if (childId === undefined) {
          // Its request may still be on its way in another POST: drop it when it comes.
          if (this.earlyCancels.size >= MAX_EARLY_CANCELS) this.earlyCancels.delete(this.earlyCancels.values().next().value!);
          this.earlyCancels.add(clientKey);
          return;
        }
        const entry = this.forwarded.get(String(childId));
        if (entry) this.forget(String(childId), entry);
        this.child?.send({ ...notification, params: { ...notification.params, requestId: childId } });
        // Servers do not answer cancelled requests; the exchange waiting for one is closed here.
        session.deliver(errorResponse(requestId, REQUEST_CANCELLED, "Request cancelled"), requestId);
        return;
      }
    }
    if (this.state === "ready") this.child!.send(notification);
  }

  private fromClientResponse(session: SessionPort, response: JsonRpcResponse): void {
    if (response.id === null) return;
    const key = idKey(response.id);
    const routed = this.serverRequests.get(key);
    if (!routed || routed.session !== session) return; // not asked of this session: never let it reach the child
    this.serverRequests.delete(key);
    this.child?.send({ ...response, id: routed.childId });
  }

  private fromChild(child: StdioChild, message: JsonRpcMessage): void {
    if (child !== this.child) return;
    if (!("method" in message)) return this.fromChildResponse(message);
    if ("id" in message) return this.fromChildRequest(message);
    this.fromChildNotification(message);
  }

  private fromChildResponse(response: JsonRpcResponse): void {
    if (response.id === null) {
      this.options.log(`child sent an error without an id: ${JSON.stringify(response).slice(0, 300)}`);
      return;
    }
    const key = String(response.id);
    const waiter = this.internal.get(key);
    if (waiter) {
      this.internal.delete(key);
      return waiter(response);
    }
    const entry = this.forwarded.get(key);
    if (!entry) return; // cancelled, or its session is gone
    this.forget(key, entry);
    entry.session.deliver({ ...response, id: entry.id }, entry.id);
  }

  private fromChildRequest(request: JsonRpcRequest): void {
    if (request.method === "ping") {
      this.child!.send({ jsonrpc: "2.0", id: request.id, result: {} });
      return;
    }
    // Stdio carries no hint of which client request caused this one. Rule: the one session with requests in
    // flight, or the one session connected; otherwise refuse rather than guess whose user to ask.
    const busy = new Set([...this.forwarded.values()].map((entry) => entry.session));
    const candidates = busy.size > 0 ? busy : this.sessions;
    if (candidates.size !== 1) {
      const why = busy.size > 1 ? `${busy.size} sessions have requests in flight` : `${candidates.size} sessions are connected`;
      this.child!.send(
        errorResponse(
          request.id,
          ErrorCode.InternalError,
          `mcp-session-manager cannot tell which client session ${request.method} is for (${why})`,
        ),
      );
      return;
    }
    const session = [...candidates][0]!;
    const id = this.nextServerRequestId++;
    this.serverRequests.set(idKey(id), { session, id, childId: request.id });
    const related = [...this.forwarded.values()].filter((entry) => entry.session === session);
    session.deliver({ ...request, id }, related.length === 1 ? related[0]!.id : undefined);
  }

  private fromChildNotification(notification: JsonRpcNotification): void {
    const params = notification.params ?? {};
    switch (notification.method) {
      case "notifications/progress": {
        const entry = this.progress.get(String(params.progressToken));
        if (entry?.progress)
          entry.session.deliver({ ...notification, params: { ...params, progressToken: entry.progress.client } }, entry.id);
        return;
      }
      case "notifications/message": {
        const rank = LOG_LEVELS.indexOf(String(params.level));
        for (const session of this.sessions) {
          const wanted = this.logLevels.get(session);
          if (wanted === undefined || rank >= LOG_LEVELS.indexOf(wanted)) session.deliver(notification);
        }
        return;
      }
      case "notifications/resources/updated": {
        for (const session of this.subscriptions.get(String(params.uri)) ?? []) session.deliver(notification);
        return;
      }
      case "notifications/cancelled": {
        // The child withdraws a request it made of a client.
        for (const [key, routed] of this.serverRequests) {
          if (routed.childId !== params.requestId) continue;
          this.serverRequests.delete(key);
          routed.session.deliver({ ...notification, params: { ...params, requestId: routed.id } });
        }
        return;
      }
    }
    for (const session of this.sessions) session.deliver(notification);
  }

  private forget(key: string, entry: Forwarded): void {
    this.forwarded.delete(key);
    this.byClientId.delete(`${entry.session.id}\0${idKey(entry.id)}`);
    if (entry.progress) this.progress.delete(entry.progress.child);
  }

  private childLogLevel(): string {
    const ranks = [...this.logLevels.values()].map((level) => LOG_LEVELS.indexOf(level));
    return LOG_LEVELS[Math.min(...ranks)] ?? "info";
  }

  /** Resolves once the child runs and is initialized; starts it when needed. */
  private whenReady(): Promise<void> {
    if (this.state === "ready") return Promise.resolve();
    if (!this.initializeParams) return Promise.reject(new Error("the session must send initialize first"));
    if (this.state === "failed") {
      if (Date.now() - this.failedAt < RETRY_FAILED_AFTER_MS) return Promise.reject(new Error(this.failedMessage()));
      this.failures = 0; // long enough: the cause may be fixed, try once more
    }
    if (this.state === "idle" || this.state === "stopped" || this.state === "failed") this.start();
    const timeout = this.options.startTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the server is not ready after ${timeout} ms (${this.lastError ?? "still starting"})`)),
        timeout,
      );
      this.ready!.then(
        () => (clearTimeout(timer), resolve()),
        (error: Error) => (clearTimeout(timer), reject(error)),
      );
    });
  }

  private start(): void {
    this.state = "starting";
    this.ready = this.launch();
    // Waiters see the failure; the restart is scheduled by the exit handler.
    this.ready.catch(() => {});
  }

  private async launch(): Promise<void> {
    const child = new StdioChild(this.options.child, this.options.log);
    this.child = child;
    this.startedAt = Date.now();
    child.onmessage = (message) => this.fromChild(child, message);
    const exited = new Promise<never>((_, reject) => {
      child.onexit = (reason) => {
        this.childExited(child, reason);
        reject(new Error(`the server ${reason} during start-up`));
      };
    });
    this.options.log(`started child pid ${child.pid}: ${[this.options.child.command, ...this.options.child.args].join(" ")}`);
    if (child.pid !== undefined) {
      const pid = child.pid;
      this.options.onChildStarted?.(pid);
      child.process.once("exit", () => this.options.onChildExited?.(pid));
    }
    const response = await Promise.race([this.internalRequest("initialize", this.initializeParams!), exited]);
    if ("error" in response) {
      this.lastError = `initialize failed: ${response.error.message}`;
      void child.stop();
      throw new Error(`the server refused initialize: ${response.error.message}`);
    }
    this.initializeResult = response.result;
    child.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    // A restarted child knows nothing: give it back the subscriptions and log level the sessions hold.
    for (const uri of this.subscriptions.keys()) void this.internalRequest("resources/subscribe", { uri }).catch(() => {});
    if (this.logLevels.size) void this.internalRequest("logging/setLevel", { level: this.childLogLevel() }).catch(() => {});
    this.state = "ready";
    if (this.restarts > 0) this.announceRestart();
  }

  private announceRestart(): void {
    const capabilities = (this.initializeResult?.capabilities ?? {}) as Record<string, { listChanged?: boolean } | undefined>;
    for (const feature of ["tools", "prompts", "resources"]) {
      if (!capabilities[feature]?.listChanged) continue;
      for (const session of this.sessions) session.deliver({ jsonrpc: "2.0", method: `notifications/${feature}/list_changed` });
    }
  }

  private internalRequest(method: string, params: Record<string, unknown>): Promise<JsonRpcResponse> {
    const child = this.child;
    if (!child?.alive) return Promise.reject(new Error("the server is not running"));
    const id = this.nextChildId++;
    return new Promise((resolve) => {
      this.internal.set(String(id), resolve);
      child.send({ jsonrpc: "2.0", id, method, params });
    });
  }

  private childExited(child: StdioChild, reason: string): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.internal.clear();
    this.lastError = `the server ${reason}`;
    this.options.log(`child pid ${child.pid} ${reason}`);
    for (const [key, entry] of [...this.forwarded]) {
      this.forget(key, entry);
      entry.session.deliver(
        errorResponse(
          entry.id,
          ErrorCode.ConnectionClosed,
          `mcp-session-manager: the server ${reason} while handling this request; it is being restarted`,
        ),
        entry.id,
      );
    }
    this.serverRequests.clear();
    if (this.state === "stopped") return;
    const ranFor = Date.now() - this.startedAt;
    this.failures = ranFor > STABLE_AFTER_MS ? 0 : this.failures + 1;
    this.restarts += 1;
    if (this.sessions.size === 0) {
      this.state = "idle"; // started again on demand
      return;
    }
    if (this.failures > this.options.restartLimit) {
      this.state = "failed";
      this.failedAt = Date.now();
      this.options.log(`giving up: ${this.failedMessage()}`);
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.max(0, this.failures - 1));
    this.state = "backing-off";
    this.options.log(`restarting the server in ${delay} ms`);
    let restarted!: () => void;
    let failed!: (error: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => ((restarted = resolve), (failed = reject)));
    this.ready.catch(() => {});
    this.restartTimer = setTimeout(() => {
      this.start();
      this.ready!.then(restarted, failed);
    }, delay);
  }

  private failedMessage(): string {
    return (
      `mcp-session-manager: the server failed ${this.failures} times in a row (last: ${this.lastError ?? "unknown"}) ` +
      `and is not restarted for now; see ${this.options.logFile}`
    );
  }

  /** Stops the child (its whole process group) and refuses further work. */
  async stop(): Promise<void> {
    this.state = "stopped";
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    await child?.stop();
  }
}
