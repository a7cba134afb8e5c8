import type { IncomingMessage } from "node:http";
import { idKey, isRequest, isResponse, type JsonRpcMessage } from "../protocol/json-rpc.js";
import { DRAINING_HEADER } from "../protocol/drain-notice.js";
import { SEQUENCE_HEADER } from "../protocol/project-path.js";
import { ConnectionPool, contentType, discardBody, readBody } from "./http-client.js";
import { readSse } from "./sse-reader.js";
import type { UpstreamOptions, UpstreamTransport } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";
import { isSessionGone, parseIncoming, rejectionFrom } from "./incoming.js";

const RECONNECT_DELAY_MS = 1000;

/**
 * MCP streamable HTTP (2025-03-26 .. 2025-11-25): every message is a POST answered with JSON or an SSE
 * stream; `Mcp-Session-Id` from initialize is sent back on every request, `MCP-Protocol-Version` once it
 * is negotiated; a GET stream carries what the server sends unprompted. With `eventStream: false` this is
 * plain HTTP JSON POST: same exchanges, no GET stream.
 */
export class StreamableHttpTransport implements UpstreamTransport {
  onmessage: UpstreamTransport["onmessage"] = () => {};
  onlost: UpstreamTransport["onlost"] = () => {};

  private sessionId: string | undefined;
  private protocolVersion: string | undefined;
  private readonly pendingInitialize = new Set<string>();
  /** Settles when the previous message has been handed over, so messages reach the daemon in order. */
  private dispatchOrder: Promise<void> = Promise.resolve();
  /** The number of the next POST, sent so our daemon can handle messages in the order they were sent. */
  private sequence = 0;
  private eventStream: AbortController | undefined;
  /** This session's connections: closing the session ends them, and what still waits on them. */
  private readonly connections = new ConnectionPool();
  private lost = false;
  private closed = false;

  private readonly route: { socketPath?: string };
  private readonly peer: string;
  readonly ownDaemon: boolean;

  constructor(
    private readonly options: UpstreamOptions,
    private readonly useEventStream = true,
  ) {
    this.route = options.socketPath ? { socketPath: options.socketPath } : {};
    this.peer = options.peer ?? "daemon";
    this.ownDaemon = options.ownDaemon === true;
  }

  async start(): Promise<void> {}

  send(message: JsonRpcMessage, text = JSON.stringify(message)): Promise<void> {
    const previous = this.dispatchOrder;
    const sequence = this.sequence++;
    let dispatched!: () => void;
    this.dispatchOrder = new Promise((resolve) => (dispatched = resolve));
    return previous.then(() => this.post(message, text, sequence, dispatched)).finally(() => dispatched());
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const headers: Record<string, string> = { ...this.options.headers, ...extra };
    if (this.sessionId) headers["mcp-session-id"] = this.sessionId;
    if (this.protocolVersion) headers["mcp-protocol-version"] = this.protocolVersion;
    return headers;
  }

  private async post(message: JsonRpcMessage, text: string, sequence: number, dispatched: () => void): Promise<void> {
    if (this.lost || this.closed) throw new UpstreamError(`${this.peer} session already ended`, "session-lost", { delivered: false });
    const request = isRequest(message);
    if (request && message.method === "initialize") this.pendingInitialize.add(idKey(message.id));
    const hadSession = this.sessionId !== undefined;

    const response = await this.connections.request({
      method: "POST",
      url: this.options.url,
      ...this.route,
      headers: this.headers({
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        [SEQUENCE_HEADER]: String(sequence),
      }),
      body: text,
      // A request is in order once it is written (its answer may take hours); anything else once accepted. An
      // initialize only once answered: its answer's headers carry the session id every later message needs.
      ...(request && message.method !== "initialize" ? { onWritten: dispatched } : {}),
    });
    dispatched();

    const issued = response.headers["mcp-session-id"];
    if (typeof issued === "string" && issued) this.sessionId = issued;

    const status = response.statusCode ?? 0;
    if (status === 202 || status === 204) return discardBody(response);
    if (status < 200 || status >= 300) {
      const body = await readBody(response, this.peer);
      if (hadSession && isSessionGone(status, body)) throw this.lose(`${this.peer} no longer knows session ${this.sessionId}`, false);
      if (status === 401 && this.ownDaemon) throw this.lose("the daemon no longer accepts this session's credential", false);
      // Our daemon being replaced refuses new sessions: the new one is starting, and is looked for again.
      if (status === 503 && this.ownDaemon && response.headers[DRAINING_HEADER] === "1")
        throw new UpstreamError(`the daemon at ${this.options.url.origin} is being replaced`, "unreachable", { delivered: false });
      throw rejectionFrom(status, body, this.options.url, this.peer);
    }

    const answered = request ? { id: idKey(message.id), seen: false } : undefined;
    const deliver = (data: string) => {
      for (const [incoming, incomingText] of parseIncoming(data, this.options.log, this.peer)) {
        if (answered && isResponse(incoming) && incoming.id !== null && idKey(incoming.id) === answered.id) answered.seen = true;
        this.receive(incoming, incomingText);
      }
    };

    if (contentType(response) === "text/event-stream") {
      try {
        await readSse(response, (event) => {
          if ((event.event === undefined || event.event === "message") && event.data) deliver(event.data);
        });
      } catch (error) {
        if (answered?.seen) return;
        throw this.lose(`${this.peer} closed the response stream (${(error as Error).message})`, true);
      }
    } else {
      let body: string;
      try {
        body = await readBody(response, this.peer);
      } catch (error) {
        throw this.lose(`${this.peer} closed the connection mid-answer (${(error as Error).message})`, true);
      }
      deliver(body);
    }
    if (answered && !answered.seen) {
      throw new UpstreamError(`${this.peer} finished the exchange without answering the request`, "rejected", { status });
    }
  }

  private receive(message: JsonRpcMessage, text: string): void {
    if (isResponse(message) && message.id !== null && this.pendingInitialize.delete(idKey(message.id))) {
      const version = "result" in message ? message.result.protocolVersion : undefined;
      if (typeof version === "string") this.protocolVersion = version;
    }
    this.onmessage(message, text);
    // The server may now push on the GET stream: open it once the session is initialized, as the SDK does.
    if (this.useEventStream && !this.eventStream && this.sessionId && this.protocolVersion) this.openEventStream();
  }

  private openEventStream(): void {
    const controller = new AbortController();
    this.eventStream = controller;
    const run = async (): Promise<void> => {
      while (!this.closed && !this.lost) {
        let response: IncomingMessage;
        try {
          response = await this.connections.request({
            method: "GET",
            url: this.options.url,
            ...this.route,
            headers: this.headers({ accept: "text/event-stream" }),
            signal: controller.signal,
          });
        } catch (error) {
          if (!this.closed) this.lose(`event stream could not be opened (${(error as Error).message})`);
          return;
        }
        const status = response.statusCode ?? 0;
        if (status !== 200 || contentType(response) !== "text/event-stream") {
          const body = await readBody(response, this.peer).catch(() => "");
          if (isSessionGone(status, body)) {
            this.lose(`${this.peer} no longer knows session ${this.sessionId} (event stream)`);
            return;
          }
          // 405: the server has no GET stream; 409: one is open already. Either way nothing more to do.
          if (status !== 405) this.options.log(`event stream not available (HTTP ${status}); continuing without it`);
          return;
        }
        try {
          await readSse(response, (event) => {
            if ((event.event === undefined || event.event === "message") && event.data) {
              for (const [incoming, text] of parseIncoming(event.data, this.options.log, this.peer)) this.receive(incoming, text);
            }
          });
        } catch (error) {
          if (!this.closed) this.lose(`event stream broke (${(error as Error).message})`);
          return;
        }
        // Ended cleanly. Our daemon ends it only when the session or the daemon ends: prove it again before anything
        // more is sent. Another server may close it at any time: open it again.
        if (this.ownDaemon) {
          if (!this.closed) this.lose(`the ${this.peer} closed the event stream`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS).unref());
      }
    };
    void run();
  }

  private lose(reason: string, delivered = true): UpstreamError {
    const error = new UpstreamError(reason, "session-lost", { delivered });
    if (!this.lost && !this.closed) {
      this.lost = true;
      this.eventStream?.abort();
      this.onlost(reason);
    }
    return error;
  }

  retire(): void {
    this.closed = true;
    this.eventStream?.abort();
    this.connections.retire();
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return this.connections.destroy();
    this.closed = true;
    this.eventStream?.abort();
    try {
      if (!this.sessionId || this.lost) return;
      const response = await this.connections.request({
        method: "DELETE",
        url: this.options.url,
        ...this.route,
        headers: this.headers({}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      discardBody(response);
    } catch {
      // Best effort: the daemon reaps sessions that never say goodbye.
    } finally {
      this.connections.destroy();
    }
  }
}
