import { setTimeout as sleep } from "node:timers/promises";
import {
  ErrorCode,
  classify,
  errorResponse,
  idKey,
  parseErrorResponse,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
} from "../protocol/json-rpc.js";
import { oversizedRequestId } from "../protocol/oversized-request.js";
import type { UpstreamTransport } from "../upstream/transport.js";
import { UpstreamError, needsNewSession } from "../upstream/upstream-error.js";

export interface BridgeOptions {
  /** Finds or starts the daemon and opens a transport to it; throws an Error that says why it could not. */
  connect: () => Promise<UpstreamTransport>;
  /** Writes one line to the client (stdout). */
  write: (line: string) => void;
  log: (line: string) => void;
  /** How long connecting may take: a daemon coming up, and its answer to the replayed initialize. */
  handshakeTimeoutMs: number;
}

/** Collects the answers to the requests of one client batch (MCP 2025-03-26) into one array. */
interface Batch {
  waiting: number;
  answers: string[];
}

interface Pending {
  id: RequestId;
  method: string;
  batch?: Batch;
  /** The connection generation the request was sent on; undefined while it waits in the queue. */
  sentOn?: number;
  /** The daemon accepted it and will answer on its event stream (legacy SSE): only a lost session fails it. */
  accepted?: boolean;
}

interface Outgoing {
  message: JsonRpcMessage;
  text: string;
}

const REINIT_ID_PREFIX = "mcp-proxy-reinitialize-";
const RETRY_AFTER_LOSS_MS = 200;

/**
 * The proxy's core: client messages from stdin go to the daemon in order, everything the daemon sends
 * comes back to stdout. It hides daemon restarts: the session is rebuilt by replaying the client's
 * initialize, requests the daemon never received are sent again, and those it lost are answered with errors.
 * Every answer the client sees carries one of its own ids, and each is written once.
 */
export class Bridge {
  private transport: UpstreamTransport | undefined;
  private connecting: Promise<void> | undefined;
  /** Bumped whenever a daemon session ends: messages from older transports are stale. */
  private generation = 0;
  private queue: Outgoing[] = [];
  private readonly pending = new Map<string, Pending>();
  /** The client's handshake, replayed to each new daemon session. */
  private initialize: Outgoing | undefined;
  private initialized: Outgoing | undefined;
  /** True once the daemon answered the client's initialize: every later daemon session needs it replayed. */
  private sessionInitialized = false;
  private replayWaiter: { id: string; resolve: (response: JsonRpcResponse) => void; reject: (error: Error) => void } | undefined;
  private closing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: BridgeOptions) {}

  /** One line from stdin. Never throws: bad input is answered or logged, never fatal. */
  handleLine(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      this.options.write(JSON.stringify(parseErrorResponse((error as Error).message)));
      return;
    }
    if (Array.isArray(value)) return this.handleBatch(value);
    this.handleValue(value, line);
  }

  /** A line too long to buffer: answered when it is certainly a request and its id can be read. */
  handleOversized(length: number, head: string, tail: string, limit: number): void {
    const id = oversizedRequestId(head, tail);
    const message = `message of ${length} bytes exceeds the ${limit}-byte limit`;
    this.options.log(`dropped a ${message}`);
    if (id !== undefined) this.options.write(JSON.stringify(errorResponse(id, ErrorCode.InvalidRequest, `Invalid request: ${message}`)));
  }

  private handleBatch(values: unknown[]): void {
    if (values.length === 0) {
      this.options.log("ignoring an empty batch (no id to answer)");
      return;
    }
    const batch: Batch = { waiting: 0, answers: [] };
    const forward: Array<() => void> = [];
    for (const value of values) {
      const classified = classify(value);
      if (classified.kind === "invalid") {
        if (classified.id !== undefined) {
          batch.answers.push(
            JSON.stringify(errorResponse(classified.id, ErrorCode.InvalidRequest, `Invalid request: ${classified.reason}`)),
          );
        } else this.options.log(`ignoring an invalid message in a batch: ${classified.reason}`);
        continue;
      }
      if (classified.kind === "request") batch.waiting += 1;
      forward.push(() => this.handleValue(value, JSON.stringify(value), batch));
    }
    // Count every request first so an answer that arrives at once cannot complete the batch early.
    for (const send of forward) send();
    if (batch.waiting === 0 && batch.answers.length > 0) this.options.write(`[${batch.answers.join(",")}]`);
  }

  private handleValue(value: unknown, text: string, batch?: Batch): void {
    const classified = classify(value);
    switch (classified.kind) {
      case "invalid":
        if (classified.id === undefined) {
          // Any answer would need `id: null`, which makes clients drop the connection; log it instead.
          this.options.log(`ignoring an invalid message without a usable id: ${classified.reason}`);
        } else {
          this.options.write(
            JSON.stringify(errorResponse(classified.id, ErrorCode.InvalidRequest, `Invalid request: ${classified.reason}`)),
          );
        }
        return;
      case "request":
        return this.fromClientRequest(classified.message, text, batch);
      case "notification":
        if (classified.message.method === "notifications/initialized") this.initialized = { message: classified.message, text };
        if (classified.message.method === "notifications/cancelled") {
          // The client stops waiting: an answer arriving later would carry an id it no longer knows.
          const requestId = classified.message.params?.requestId;
          if (typeof requestId === "string" || typeof requestId === "number") this.pending.delete(idKey(requestId));
          this.notifyIfIdle();
        }
        return this.dispatch({ message: classified.message, text });
      case "response":
        // The client's answer to a sampling/elicitation/roots request from the server.
        return this.dispatch({ message: classified.message, text });
    }
  }

  private fromClientRequest(request: JsonRpcRequest, text: string, batch?: Batch): void {
    if (request.method === "server/discover") {
      // MCP 2026-07-28 probe. The daemon session is the 2025 kind (initialize + session id), so say so at
      // once: the client falls back to initialize, and never waits on a daemon that is still starting.
      const answer = JSON.stringify(errorResponse(request.id, ErrorCode.MethodNotFound, "Method not found: server/discover"));
      if (batch) this.answerBatch(batch, answer);
      else this.options.write(answer);
      return;
    }
    if (request.method === "initialize") {
      this.initialize = { message: request, text };
      this.initialized = undefined;
      this.sessionInitialized = false;
    }
    const entry: Pending = { id: request.id, method: request.method };
    if (batch) entry.batch = batch;
    this.pending.set(idKey(request.id), entry);
    this.dispatch({ message: request, text });
  }

  private dispatch(outgoing: Outgoing): void {
    const transport = this.transport;
    if (!transport || this.connecting) {
      this.queue.push(outgoing);
      void this.ensureConnected();
      return;
    }
    this.sendOn(transport, this.generation, outgoing);
  }

  private sendOn(transport: UpstreamTransport, generation: number, outgoing: Outgoing): void {
    const { message } = outgoing;
    const entry = "method" in message && "id" in message ? this.pending.get(idKey(message.id)) : undefined;
    if (entry) {
      entry.sentOn = generation;
      entry.accepted = false;
    }
    transport.send(message, outgoing.text).then(
      () => {
        if (entry) entry.accepted = true;
      },
      (error: unknown) => this.sendFailed(outgoing, entry, generation, error),
    );
  }

  /** Each send reports its own fate: resent if the daemon never saw it, answered with an error otherwise. */
  private sendFailed(outgoing: Outgoing, entry: Pending | undefined, generation: number, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    const current = entry !== undefined && this.pending.get(idKey(entry.id)) === entry && entry.sentOn === generation;
    if (entry && !current) return; // cancelled, or already answered
    if (needsNewSession(error)) this.sessionLost(generation, reason);
    if (error instanceof UpstreamError && !error.delivered && needsNewSession(error)) {
      // The daemon never saw it: out again on the rebuilt session, and the client never knows.
      if (entry) entry.sentOn = undefined;
      this.dispatch(outgoing);
      return;
    }
    if (entry) {
      const lost = needsNewSession(error) ? `connection to the daemon was lost (${reason}); the request may not have completed` : reason;
      this.answer(entry, JSON.stringify(errorResponse(entry.id, ErrorCode.ConnectionClosed, `mcp-proxy: ${lost}`)));
    } else {
      this.options.log(`daemon refused a ${"method" in outgoing.message ? outgoing.message.method : "response"}: ${reason}`);
    }
  }

  /** The daemon session of `generation` is gone: fail what it had, then rebuild. */
  private sessionLost(generation: number, reason: string): void {
    if (generation !== this.generation || this.closing) return;
    this.generation += 1;
    const lost = this.transport;
    this.transport = undefined;
    void lost?.close(0);
    this.options.log(`daemon session lost: ${reason}`);
    this.replayWaiter?.reject(new Error(`the daemon session was lost again (${reason})`));
    this.failAccepted(generation, `connection to the daemon was lost (${reason}); the request may not have completed`);
    // Rebuild at once, so notifications resume and the next call does not wait for a handshake.
    if (this.sessionInitialized) void this.ensureConnected();
  }

  /** Requests whose answers were to come on the lost session's event stream. */
  private failAccepted(generation: number, message: string): void {
    for (const entry of [...this.pending.values()]) {
      if (entry.sentOn === generation && entry.accepted) {
        this.answer(entry, JSON.stringify(errorResponse(entry.id, ErrorCode.ConnectionClosed, `mcp-proxy: ${message}`)));
      }
    }
  }

  private ensureConnected(): Promise<void> {
    if (this.transport || this.closing) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    const deadline = Date.now() + this.options.handshakeTimeoutMs;
    let transport: UpstreamTransport | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        transport = await this.options.connect();
        transport.onmessage = (message, text) => this.fromDaemon(generation, message, text);
        transport.onlost = (reason) => this.sessionLost(generation, reason);
        await transport.start();
        if (this.sessionInitialized) await this.replayHandshake(transport, generation);
        break;
      } catch (error) {
        void transport?.close(0);
        transport = undefined;
        const reason = error instanceof Error ? error.message : String(error);
        // A daemon that is dying or still coming up refuses connections for a moment: try again until the
        // start deadline. Anything else (bad config, a daemon that failed to start) is final for this attempt.
        if (needsNewSession(error) && Date.now() < deadline && !this.closing && generation === this.generation) {
          await sleep(Math.min(50 * 2 ** attempt, 1000));
          continue;
        }
        this.options.log(`cannot connect: ${reason}`);
        this.failQueued(reason);
        return;
      }
    }
    if (this.closing || generation !== this.generation) {
      // Lost again while being set up (a flapping daemon): try once more shortly, the queue still waits.
      void transport.close(0);
      if (!this.closing) setTimeout(() => void this.ensureConnected(), RETRY_AFTER_LOSS_MS);
      return;
    }
    this.transport = transport;
    const queued = this.queue;
    this.queue = [];
    for (const outgoing of queued) this.sendOn(transport, generation, outgoing);
  }

  private async replayHandshake(transport: UpstreamTransport, generation: number): Promise<void> {
    const original = this.initialize!.message as JsonRpcRequest;
    const id = `${REINIT_ID_PREFIX}${generation}`;
    const answered = new Promise<JsonRpcResponse>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("the daemon did not answer the replayed initialize")),
        this.options.handshakeTimeoutMs,
      );
      this.replayWaiter = {
        id,
        resolve: (response) => (clearTimeout(timer), resolve(response)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
    });
    try {
      await transport.send({ ...original, id });
      const response = await answered;
      if ("error" in response) throw new Error(`daemon refused the replayed initialize: ${response.error.message}`);
      this.options.log(`re-initialized the daemon session (protocol ${String(response.result.protocolVersion)})`);
      if (this.initialized) await transport.send(this.initialized.message, this.initialized.text);
      this.announceChanges(response);
    } finally {
      this.replayWaiter = undefined;
    }
  }

  /** A restarted server may offer different tools or resources: let the client refresh what it caches. */
  private announceChanges(response: JsonRpcResponse): void {
    if (!("result" in response)) return;
    const capabilities = (response.result.capabilities ?? {}) as Record<string, { listChanged?: boolean } | undefined>;
    for (const feature of ["tools", "prompts", "resources"]) {
      if (capabilities[feature]?.listChanged) {
        this.options.write(JSON.stringify({ jsonrpc: "2.0", method: `notifications/${feature}/list_changed` }));
      }
    }
  }

  private failQueued(reason: string): void {
    const queued = this.queue;
    this.queue = [];
    for (const { message } of queued) {
      const entry = "method" in message && "id" in message ? this.pending.get(idKey(message.id)) : undefined;
      if (entry) {
        this.answer(entry, JSON.stringify(errorResponse(entry.id, ErrorCode.ConnectionClosed, `mcp-proxy: ${reason}`)));
      } else if ("method" in message) {
        this.options.log(`dropped ${message.method}: no daemon to deliver it to`);
      }
    }
  }

  private fromDaemon(generation: number, message: JsonRpcMessage, text: string): void {
    if ("method" in message) {
      // Server request or notification (progress, logging, sampling...); from a session already given up
      // on, any answer would go to the wrong session.
      if (generation === this.generation) this.options.write(text);
      return;
    }
    const id = message.id;
    if (id === null) {
      this.options.log(`daemon sent an error without an id: ${text.slice(0, 300)}`);
      return;
    }
    if (this.replayWaiter?.id === id) {
      const waiter = this.replayWaiter;
      this.replayWaiter = undefined;
      waiter.resolve(message);
      return;
    }
    const entry = this.pending.get(idKey(id));
    if (!entry || entry.sentOn !== generation) {
      // Cancelled, already answered, or never asked: an unknown id makes clients drop the connection.
      this.options.log(`dropped a response for id ${JSON.stringify(id)} that no pending request has`);
      return;
    }
    if (entry.method === "initialize" && "result" in message) this.sessionInitialized = true;
    this.answer(entry, text);
  }

  /** Writes the one answer a request gets, and forgets the request. */
  private answer(entry: Pending, text: string): void {
    if (this.pending.get(idKey(entry.id)) !== entry) return;
    this.pending.delete(idKey(entry.id));
    if (entry.batch) this.answerBatch(entry.batch, text);
    else this.options.write(text);
    this.notifyIfIdle();
  }

  private answerBatch(batch: Batch, text: string): void {
    batch.answers.push(text);
    batch.waiting -= 1;
    if (batch.waiting === 0) this.options.write(`[${batch.answers.join(",")}]`);
  }

  private notifyIfIdle(): void {
    if (this.pending.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once every request the client sent has been answered (stdin closed: finish, then exit). */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Answers everything still open with an error and ends the daemon session within `timeoutMs`. */
  async close(timeoutMs: number, reason?: string): Promise<void> {
    this.closing = true;
    if (reason) {
      for (const entry of [...this.pending.values()]) {
        this.answer(entry, JSON.stringify(errorResponse(entry.id, ErrorCode.ConnectionClosed, `mcp-proxy: ${reason}`)));
      }
    }
    this.queue = [];
    const transport = this.transport;
    this.transport = undefined;
    await transport?.close(timeoutMs);
  }
}
