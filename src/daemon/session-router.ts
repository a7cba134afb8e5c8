import {
  ErrorCode,
  errorResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from "../protocol/json-rpc.js";
import { invalidRequest } from "../protocol/intake.js";
import { listChangedNotifications } from "../protocol/list-changes.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { withResponseId } from "../protocol/large-lines.js";
import type { Backend, SessionPort } from "./backend.js";
import { MAX_IN_FLIGHT_PER_SESSION, tooManyInFlight } from "./in-flight-limit.js";
import { DEFAULT_SESSION_LEVEL, LogLevels } from "./log-levels.js";
import { RequestTable, type Forwarded } from "./request-table.js";
import { ServerRequests } from "./server-requests.js";
import { SupervisedChild, type SupervisedChildOptions } from "./supervised-child.js";
import { Subscriptions } from "./subscriptions.js";
import { TaskOwners } from "./task-owners.js";

/** The client capability each server->client request needs (MCP): without it, the client is not asked. */
const CAPABILITY_OF: Record<string, string> = {
  "roots/list": "roots",
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
};

export interface SessionRouterOptions {
  child: Omit<SupervisedChildOptions, "wanted">;
  /** Prefix of the ids server->client requests get (random per daemon run unless a test fixes it). */
  serverRequestIdPrefix?: string;
  /** Told of every request the child sends its clients (besides ping): what the daemon learns from (LearnedTraits). */
  onServerRequest?: (method: string) => void;
}

/**
 * One stdio server shared by many sessions, and nobody can tell. Ids are rewritten into the child's id space
 * and back; `initialize` reaches the child once and later sessions get the kept answer; progress tokens,
 * cancellations and server requests are mapped per session; notifications go to whoever should see them.
 * The child's life (start, restart, failure) is the SupervisedChild's; its sessions carry on through it.
 */
export class SessionRouter implements Backend {
  private readonly child: SupervisedChild;
  private readonly sessions = new Set<SessionPort>();
  private readonly requests = new RequestTable();
  private readonly serverRequests: ServerRequests;
  private readonly subscriptions = new Subscriptions();
  private readonly logLevels = new LogLevels();
  private readonly tasks = new TaskOwners();
  private readonly answering = new Map<SessionPort, number>();
  /** Subscribes still at the child, by session and URI: whether the session still wants it. */
  private readonly subscribing = new Map<string, boolean>();
  /** The level the child was last told (undefined: its own default, or unknown after a restart). */
  private childLevel: string | undefined;
  private readonly pendingSubscribes = new Map<string, Promise<JsonRpcResponse>>();
  private readonly log: (line: string) => void;

  private readonly onServerRequest: (method: string) => void;

  constructor(options: SessionRouterOptions) {
    this.log = options.child.log;
    this.onServerRequest = options.onServerRequest ?? (() => {});
    this.child = new SupervisedChild({ ...options.child, wanted: () => this.sessions.size > 0 });
    this.child.onmessage = (message, text, bytes) => this.fromChild(message, text, bytes);
    this.child.onexit = (reason) => this.childExited(reason);
    this.child.onready = (restarted) => this.childReady(restarted);
    this.serverRequests = new ServerRequests(options.serverRequestIdPrefix);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  status() {
    return { ...this.child.status(), sessions: this.sessions.size, inFlight: this.requests.size };
  }

  attach(session: SessionPort): void {
    this.sessions.add(session);
    this.logLevels.attach(session);
    this.syncChildLevel(); // a newcomer without a level may want more than the sessions there asked for
  }

  /** The session is gone: its requests are cancelled at the child, its server requests refused, its subscriptions dropped. */
  detach(session: SessionPort): void {
    if (!this.sessions.delete(session)) return;
    for (const entry of this.requests.entries()) {
      if (entry.session !== session) continue;
      this.requests.delete(entry);
      if (entry.sent) this.cancelAtChild(entry.childId, "client session ended");
    }
    for (const childId of this.serverRequests.sessionEnded(session)) {
      this.child.send(errorResponse(childId, ErrorCode.InternalError, "the client session that was asked has ended"));
    }
    for (const uri of this.subscriptions.drop(session)) this.tellChild("resources/unsubscribe", { uri });
    this.logLevels.drop(session);
    this.tasks.drop(session);
    this.syncChildLevel(); // the most verbose level may have left with it
  }

  handle(session: SessionPort, message: JsonRpcMessage, text?: string): void {
    if (!("method" in message)) return this.fromClientResponse(session, message);
    if (!("id" in message)) return this.fromClientNotification(session, message, text);
    void this.fromClientRequest(session, message).catch((error: Error) =>
      session.deliver(errorResponse(message.id, ErrorCode.ConnectionClosed, `mcp-session-manager: ${error.message}`), message.id),
    );
  }

  /**
   * Requests the daemon answers itself (initialize, subscribe, setLevel) wait here rather than in the request
   * table: counted too, so that they fall under the session's bound. Returns the release.
   */
  private hold(session: SessionPort): () => void {
    this.answering.set(session, (this.answering.get(session) ?? 0) + 1);
    return () => {
      const left = (this.answering.get(session) ?? 1) - 1;
      if (left > 0) this.answering.set(session, left);
      else this.answering.delete(session);
    };
  }

  private async fromClientRequest(session: SessionPort, request: JsonRpcRequest): Promise<void> {
    const answer = (result: Record<string, unknown>) => session.deliver({ jsonrpc: "2.0", id: request.id, result }, request.id);
    if (this.requests.fromClient(session, request.id)) {
      return session.deliver(invalidRequest(request.id, "a request with this id is already in flight"), request.id);
    }
    if (this.requests.openFor(session) + (this.answering.get(session) ?? 0) >= MAX_IN_FLIGHT_PER_SESSION) {
      return session.deliver(tooManyInFlight(request.id), request.id);
    }
    switch (request.method) {
      case "initialize": {
        this.child.initializeWith(request.params ?? {});
        const release = this.hold(session);
        await this.child.whenReady().finally(release);
        return answer(this.negotiated(request.params?.protocolVersion));
      }
      case "resources/subscribe": {
        const uri = request.params?.uri;
        if (typeof uri !== "string") break; // let the child report the bad params
        if (this.subscriptions.has(uri)) {
          this.subscriptions.add(uri, session);
          return answer({});
        }
        // Counted only once the child accepted: a refusal is every asker's, and later ones ask the child again.
        const intent = `${session.id}\0${uri}`;
        this.subscribing.set(intent, true);
        const release = this.hold(session);
        const result = await this.subscribeAtChild(uri, request.params!).finally(release);
        // Meanwhile the session may have left, or unsubscribed: then it holds nothing.
        const wants = this.subscribing.get(intent) === true && this.sessions.has(session);
        this.subscribing.delete(intent);
        if ("error" in result) return session.deliver({ ...result, id: request.id }, request.id);
        if (wants) this.subscriptions.add(uri, session);
        else setImmediate(() => this.unsubscribeIfUnheld(uri)); // once every session waiting on it has had its turn
        return answer({});
      }
      case "resources/unsubscribe": {
        const uri = request.params?.uri;
        if (typeof uri !== "string") break;
        const intent = `${session.id}\0${uri}`;
        if (this.subscribing.has(intent)) {
          this.subscribing.set(intent, false); // its subscribe, still at the child, will not count
          return answer({});
        }
        if (!this.subscriptions.remove(uri, session)) return answer({});
        break; // the last subscriber left: the child hears it
      }
      case "tasks/get":
      case "tasks/result":
      case "tasks/cancel": {
        // Another session's task is as unknown here as it would be to a private server.
        if (this.tasks.ownerOf(request.params?.taskId) !== session) {
          return session.deliver(errorResponse(request.id, -32602, `unknown task ${JSON.stringify(request.params?.taskId)}`), request.id);
        }
        break;
      }
      case "logging/setLevel": {
        const level = request.params?.level;
        // Not passed on: the child's level is every session's, and only a valid one may change it.
        if (!LogLevels.isLevel(level)) {
          return session.deliver(errorResponse(request.id, -32602, `unknown log level ${JSON.stringify(level)}`), request.id);
        }
        const before = this.logLevels.levelOf(session);
        this.logLevels.set(session, level);
        const release = this.hold(session);
        const childLevel = this.logLevels.childLevel()!;
        let result: JsonRpcResponse;
        try {
          result = await this.child.whenReady().then(() => this.child.request("logging/setLevel", { level: childLevel }));
        } catch (error) {
          this.logLevels.restore(session, before);
          throw error;
        } finally {
          release();
        }
        if ("error" in result) {
          this.logLevels.restore(session, before); // refused: what the others receive stays as it was
          return session.deliver({ ...result, id: request.id }, request.id);
        }
        this.childLevel = childLevel;
        this.syncChildLevel(); // sessions that came or left meanwhile may want another level
        return answer({});
      }
    }
    this.forward(session, request);
  }

  /**
   * The first session's handshake initialized the child; a later one is answered in the protocol version it asked
   * for when the child's is at least as new (messages only gain optional fields from one version to the next),
   * else in the child's.
   */
  private negotiated(asked: unknown): Record<string, unknown> {
    const result = this.child.initializeResult!;
    const spoken = result.protocolVersion;
    const agreed =
      typeof asked === "string" && typeof spoken === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(asked) && asked < spoken
        ? asked
        : spoken;
    return { ...result, protocolVersion: agreed };
  }

  /** Sends the request on under a child id; it waits (still cancellable) while the child is not ready. */
  private forward(session: SessionPort, request: JsonRpcRequest): void {
    const childId = this.child.nextId();
    const entry: Forwarded = { session, id: request.id, childId, method: request.method, sent: false };
    let params = request.params;
    const meta = params?._meta as Record<string, unknown> | undefined;
    const token = meta?.progressToken;
    if (typeof token === "string" || typeof token === "number") {
      entry.progress = { client: token, child: `p${childId}` };
      params = { ...params, _meta: { ...meta, progressToken: entry.progress.child } };
    }
    this.requests.add(entry);
    const send = () => {
      if (!this.requests.has(entry)) return; // cancelled, or its session left, while the child was starting
      entry.sent = true;
      const rewritten = { jsonrpc: "2.0" as const, id: childId, method: request.method, ...(params ? { params } : {}) };
      if (!this.child.send(rewritten)) this.fail(entry, "the server does not read its input; the request was not sent");
    };
    if (this.child.ready) return send();
    this.child.whenReady().then(send, (error: Error) => this.fail(entry, error.message));
  }

  private fail(entry: Forwarded, reason: string): void {
    if (!this.requests.has(entry)) return;
    this.requests.delete(entry);
    entry.session.deliver(errorResponse(entry.id, ErrorCode.ConnectionClosed, `mcp-session-manager: ${reason}`), entry.id);
  }

  private fromClientNotification(session: SessionPort, notification: JsonRpcNotification, text: string | undefined): void {
    switch (notification.method) {
      case "notifications/initialized":
        return; // the child had its own, once
      case "notifications/cancelled": {
        const requestId = notification.params?.requestId;
        if (typeof requestId !== "string" && typeof requestId !== "number") return;
        const entry = this.requests.fromClient(session, requestId);
        if (!entry) return; // answered already, or never sent: nothing later is affected
        this.requests.delete(entry);
        if (entry.sent) this.cancelAtChild(entry.childId, notification.params?.reason);
        return;
      }
    }
    if (this.child.ready) this.child.send(notification, text);
  }

  private cancelAtChild(childId: number, reason: unknown): void {
    const params = typeof reason === "string" ? { requestId: childId, reason } : { requestId: childId };
    this.child.send({ jsonrpc: "2.0", method: "notifications/cancelled", params });
  }

  private fromClientResponse(session: SessionPort, response: JsonRpcResponse): void {
    if (response.id === null) return;
    const childId = this.serverRequests.answered(session, response.id);
    if (childId !== undefined) this.child.send({ ...response, id: childId }); // never what this session was not asked
  }

  private fromChild(message: JsonRpcMessage, text: string, bytes?: Buffer): void {
    if (!("method" in message)) return this.fromChildResponse(message, text, bytes);
    if ("id" in message) return this.fromChildRequest(message);
    // Passed on as received: its bytes when it is large, else its text.
    this.fromChildNotification(message, bytes ? [bytes] : text);
  }

  private fromChildResponse(response: JsonRpcResponse, text: string, bytes?: Buffer): void {
    if (response.id === null) return this.log(`child sent an error without an id: ${JSON.stringify(response).slice(0, 300)}`);
    const entry = this.requests.fromChild(response.id);
    if (!entry) return; // cancelled, or its session is gone
    this.requests.delete(entry);
    if ("result" in response) {
      this.tasks.created(entry.session, response.result);
      if (entry.method === "tasks/list") {
        const own = { ...response, id: entry.id, result: this.tasks.listFor(entry.session, response.result) };
        return entry.session.deliver(own, entry.id);
      }
    }
    // A large answer goes on as the bytes it came in, with only its id replaced, when that can be done safely.
    const relayed = bytes && typeof response.id === "number" ? withResponseId(text, bytes, response.id, entry.id) : undefined;
    entry.session.deliver({ ...response, id: entry.id }, entry.id, relayed);
  }

  private fromChildRequest(request: JsonRpcRequest): void {
    if (request.method !== "ping") this.onServerRequest(request.method);
    if (request.method === "ping") {
      this.child.send({ jsonrpc: "2.0", id: request.id, result: {} });
      return;
    }
    // A client is never sent what it did not say it can do (its sessions all declared what the child was told).
    const needs = CAPABILITY_OF[request.method];
    if (needs && !(needs in this.child.clientCapabilities)) {
      const message = `mcp-session-manager: the client did not declare the ${needs} capability, so ${request.method} is not sent to it`;
      this.child.send(errorResponse(request.id, ErrorCode.MethodNotFound, message));
      return;
    }
    // Stdio carries no hint of which client request caused this one. Rule: the one session with requests in
    // flight, or the one session connected; otherwise refuse rather than guess whose user to ask.
    const busy = this.requests.busySessions();
    const candidates = busy.size > 0 ? busy : this.sessions;
    if (candidates.size !== 1) {
      const why = busy.size > 1 ? `${busy.size} sessions have requests in flight` : `${candidates.size} sessions are connected`;
      const message = `mcp-session-manager cannot tell which client session ${request.method} is for (${why})`;
      this.child.send(errorResponse(request.id, ErrorCode.InternalError, message));
      return;
    }
    const session = [...candidates][0]!;
    const id = this.serverRequests.route(session, request.id);
    const related = this.requests.entries().filter((entry) => entry.session === session);
    session.deliver({ ...request, id }, related.length === 1 ? related[0]!.id : undefined);
  }

  private fromChildNotification(notification: JsonRpcNotification, text: string | Buffer[]): void {
    const params = notification.params ?? {};
    switch (notification.method) {
      case "notifications/progress": {
        const entry = this.requests.byProgressToken(params.progressToken);
        if (entry?.progress)
          entry.session.deliver({ ...notification, params: { ...params, progressToken: entry.progress.client } }, entry.id);
        return;
      }
      case "notifications/message": {
        for (const session of this.sessions)
          if (this.logLevels.admits(session, params.level)) session.deliver(notification, undefined, text);
        return;
      }
      case "notifications/resources/updated": {
        for (const session of this.subscriptions.of(String(params.uri))) session.deliver(notification, undefined, text);
        return;
      }
      case "notifications/tasks/status": {
        // A task's news is its owner's alone.
        this.tasks.ownerOf(params.taskId)?.deliver(notification, undefined, text);
        return;
      }
      case "notifications/cancelled": {
        // The child withdraws a request it made of a client.
        for (const { session, id } of this.serverRequests.withdrawn(params.requestId as string | number)) {
          session.deliver({ ...notification, params: { ...params, requestId: id } });
        }
        return;
      }
    }
    for (const session of this.sessions) session.deliver(notification, undefined, text);
  }

  /** A subscription the child accepted that no session wants after all is ended at the child. */
  private unsubscribeIfUnheld(uri: string): void {
    if (!this.subscriptions.has(uri) && !this.pendingSubscribes.has(uri)) this.tellChild("resources/unsubscribe", { uri });
  }

  /** One subscribe at the child per URI at a time: sessions asking meanwhile share its outcome. */
  private subscribeAtChild(uri: string, params: Record<string, unknown>): Promise<JsonRpcResponse> {
    let pending = this.pendingSubscribes.get(uri);
    if (!pending) {
      pending = this.child
        .whenReady()
        .then(() => this.child.request("resources/subscribe", params))
        .finally(() => this.pendingSubscribes.delete(uri));
      this.pendingSubscribes.set(uri, pending);
    }
    return pending;
  }

  /** Tells the child the level the attached sessions now need, when it differs from what it was last told. */
  private syncChildLevel(): void {
    // Nobody holds a level any more, but the child was told one: back to what sessions without one get.
    const level = this.logLevels.childLevel() ?? (this.childLevel !== undefined ? DEFAULT_SESSION_LEVEL : undefined);
    if (level === undefined || level === this.childLevel || !this.child.ready) return;
    this.childLevel = level;
    this.tellChild("logging/setLevel", { level });
  }

  /** The child died: what it was working on is lost (those requests fail with their own ids); the rest waits. */
  private childExited(reason: string): void {
    for (const entry of this.requests.entries()) {
      if (entry.sent) this.fail(entry, `${reason} while handling this request; it is being restarted`);
    }
    this.serverRequests.clear();
  }

  /** A restarted child knows nothing: give it back the subscriptions and log level the sessions hold. */
  private childReady(restarted: boolean): void {
    if (!restarted) return;
    for (const uri of this.subscriptions.uris()) this.tellChild("resources/subscribe", { uri });
    this.childLevel = undefined;
    this.syncChildLevel();
    for (const notification of listChangedNotifications(this.child.initializeResult)) {
      for (const session of this.sessions) session.deliver(notification);
    }
  }

  /** A request of the daemon's own whose answer only matters to the log. */
  private tellChild(method: string, params: Record<string, unknown>): void {
    if (!this.child.ready) return;
    this.child.request(method, params).then(
      (response) => "error" in response && this.log(`${method} ${JSON.stringify(params)} refused by the server: ${response.error.message}`),
      (error: Error) => this.log(`${method} not confirmed: ${error.message}`),
    );
  }

  async stop(): Promise<void> {
    await this.child.stop();
  }
}
