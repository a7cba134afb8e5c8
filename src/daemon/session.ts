import type { ServerResponse } from "node:http";
import { idKey, type JsonRpcMessage, type RequestId } from "../protocol/json-rpc.js";
import type { Exchange } from "./exchange.js";
import type { Bound } from "./session-registry.js";
import { openEventStream, sseMessage } from "./event-stream.js";
import type { OpenSession } from "./session-registry.js";
import type { SessionActivity } from "./session-activity.js";
import { HandshakeGate } from "./handshake-gate.js";
import { HttpCancels } from "./http-cancels.js";

/** Messages kept for a session with no GET stream open, until one opens. */
const MAX_BACKLOG = 1000;
/** How long a session's later messages wait for a missing earlier one before going ahead without it. */
const SEQUENCE_GAP_MS = 1000;

/**
 * One streamable HTTP session of the daemon: its `Mcp-Session-Id`, the POST exchanges waiting for answers, and
 * the GET stream for what the server sends unprompted.
 */
export class Session implements OpenSession {
  lastActivity = Date.now();
  readonly gate = new HandshakeGate();
  bound?: Bound;
  private readonly cancels = new HttpCancels();
  private readonly exchanges = new Map<string, Exchange>();
  private stream: ServerResponse | undefined;
  private streamKeepAlive: NodeJS.Timeout | undefined;
  private backlog: string[] = [];
  private nextSequence = 0;
  private readonly held = new Map<number, () => void>();
  private gapTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly projectPath: string | undefined,
    readonly activity: SessionActivity,
    readonly drains: boolean,
  ) {}

  /**
   * Runs `handle` when every message the client numbered before `sequence` has been handled. A number that never
   * comes (its POST was never sent) holds the others back for at most SEQUENCE_GAP_MS.
   */
  inOrder(sequence: number, handle: () => void): void {
    if (!Number.isInteger(sequence) || sequence < this.nextSequence) return handle();
    this.held.set(sequence, handle);
    this.release();
    if (this.held.size > 0 && !this.gapTimer) {
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        this.nextSequence = Math.min(...this.held.keys());
        this.release();
      }, SEQUENCE_GAP_MS);
    }
  }

  private release(): void {
    let next: (() => void) | undefined;
    while ((next = this.held.get(this.nextSequence))) {
      this.held.delete(this.nextSequence);
      this.nextSequence += 1;
      next();
    }
    if (this.held.size === 0 && this.gapTimer) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
  }

  /** Routes answers for these requests to the exchange. */
  expect(exchange: Exchange, ids: RequestId[]): void {
    for (const id of ids) this.exchanges.set(idKey(id), exchange);
  }

  /** A request arrives: false when the client cancelled it before it came (its exchange is then closed). */
  requestArrived(id: RequestId): boolean {
    if (this.cancels.arrived(id)) return true;
    this.cancelled(id);
    return false;
  }

  /** The client cancelled a request: its exchange stops waiting for the answer. */
  cancelled(id: RequestId): void {
    const key = idKey(id);
    const exchange = this.exchanges.get(key);
    this.exchanges.delete(key);
    exchange?.cancel(id);
    this.cancels.cancelled(id, exchange !== undefined);
  }

  forgetExchange(exchange: Exchange): void {
    for (const key of exchange.pendingKeys()) if (this.exchanges.get(key) === exchange) this.exchanges.delete(key);
  }

  deliver(message: JsonRpcMessage, related?: RequestId, serialised?: string | Buffer[]): void {
    if (!("method" in message) && message.id !== null && this.cancels.dropsAnswer(message.id)) return;
    const text =
      serialised === undefined
        ? JSON.stringify(message)
        : typeof serialised === "string"
          ? serialised
          : Buffer.concat(serialised).toString();
    this.send(message, related, text);
    this.activity.answered(message); // counted once on its way
  }

  private send(message: JsonRpcMessage, related: RequestId | undefined, text: string): void {
    if (related !== undefined) {
      const key = idKey(related);
      const exchange = this.exchanges.get(key);
      const isAnswer = !("method" in message) && "id" in message && message.id !== null && idKey(message.id) === key;
      if (exchange?.write(text, isAnswer ? related : undefined)) {
        if (isAnswer) this.exchanges.delete(key);
        return;
      }
      if (isAnswer) this.exchanges.delete(key);
    }
    // Not tied to an open exchange (or the client went away from it): the GET stream carries it.
    if (this.stream) this.stream.write(sseMessage(text));
    else if (this.backlog.length < MAX_BACKLOG) this.backlog.push(text);
  }

  get hasStream(): boolean {
    return this.stream !== undefined;
  }

  quietSince(): number | undefined {
    return this.exchanges.size > 0 || this.stream ? undefined : this.lastActivity;
  }

  openStream(response: ServerResponse, headers: Record<string, string>): void {
    this.stream = response;
    this.streamKeepAlive = openEventStream(response, headers);
    for (const text of this.backlog.splice(0)) response.write(sseMessage(text));
    response.on("close", () => {
      if (this.stream !== response) return;
      this.stream = undefined;
      clearInterval(this.streamKeepAlive);
      this.lastActivity = Date.now();
    });
  }

  close(): void {
    clearInterval(this.streamKeepAlive);
    clearTimeout(this.gapTimer);
    this.held.clear();
    this.stream?.end();
    this.stream = undefined;
  }
}
