import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import { ConnectionPool, contentType, discardBody, readBody } from "./http-client.js";
import { isSessionGone, parseIncoming, rejectionFrom } from "./incoming.js";
import { readSse } from "./sse-reader.js";
import type { UpstreamOptions, UpstreamTransport } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";

/**
 * HTTP+SSE of MCP 2024-11-05: a GET event stream whose first `endpoint` event names where to POST.
 * The endpoint is resolved against the stream's URL, so the TypeScript SDK's `/message?sessionId=…` and
 * Python FastMCP's `/messages/?session_id=…` both work. Answers arrive on the event stream.
 */
export class LegacySseTransport implements UpstreamTransport {
  onmessage: UpstreamTransport["onmessage"] = () => {};
  onlost: UpstreamTransport["onlost"] = () => {};

  private endpoint: URL | undefined;
  private readonly stream = new AbortController();
  /** This session's connections: closing the session ends them, and what still waits on them. */
  private readonly connections = new ConnectionPool();
  private dispatchOrder: Promise<void> = Promise.resolve();
  private lost = false;
  private closed = false;

  private readonly peer: string;

  constructor(private readonly options: UpstreamOptions) {
    this.peer = options.peer ?? "daemon";
  }

  async start(): Promise<void> {
    const { url } = this.options;
    const response = await this.connections.request({
      method: "GET",
      url,
      ...(this.options.socketPath ? { socketPath: this.options.socketPath } : {}),
      headers: { ...this.options.headers, accept: "text/event-stream" },
      signal: this.stream.signal,
    });
    const status = response.statusCode ?? 0;
    if (status !== 200 || contentType(response) !== "text/event-stream") {
      const body = await readBody(response, this.peer).catch(() => "");
      throw rejectionFrom(status, body || `expected an event stream, got ${contentType(response) || "no content type"}`, url, this.peer);
    }

    await new Promise<void>((resolve, reject) => {
      const ended = readSse(response, (event) => {
        if (event.event === "endpoint") {
          const endpoint = new URL(event.data.trim(), url);
          if (endpoint.origin !== url.origin) {
            reject(new UpstreamError(`${this.peer} named a foreign endpoint ${endpoint.origin}; refusing to post there`, "rejected"));
            this.stream.abort();
            return;
          }
          this.endpoint = endpoint;
          resolve();
        } else if ((event.event === undefined || event.event === "message") && event.data) {
          for (const [message, text] of parseIncoming(event.data, this.options.log, this.peer)) this.onmessage(message, text);
        }
      });
      ended
        .then(
          () => this.lose(`${this.peer} ended the event stream`),
          (error: Error) => this.lose(`event stream broke (${error.message})`),
        )
        .finally(() => reject(new UpstreamError("event stream ended before naming its endpoint", "unreachable", { delivered: false })));
    });
  }

  send(message: JsonRpcMessage, text = JSON.stringify(message)): Promise<void> {
    const previous = this.dispatchOrder;
    const delivery = previous.then(() => this.post(text));
    this.dispatchOrder = delivery.catch(() => {});
    return delivery;
  }

  private async post(text: string): Promise<void> {
    if (this.lost || this.closed || !this.endpoint) {
      throw new UpstreamError(`${this.peer} session already ended`, "session-lost", { delivered: false });
    }
    const response = await this.connections.request({
      method: "POST",
      url: this.endpoint,
      ...(this.options.socketPath ? { socketPath: this.options.socketPath } : {}),
      headers: { ...this.options.headers, "content-type": "application/json" },
      body: text,
    });
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return discardBody(response);
    const body = await readBody(response, this.peer);
    if (isSessionGone(status, body)) throw this.lose(`${this.peer} no longer knows this session (HTTP ${status})`, false);
    throw rejectionFrom(status, body, this.endpoint, this.peer);
  }

  private lose(reason: string, delivered = true): UpstreamError {
    if (!this.lost && !this.closed) {
      this.lost = true;
      this.stream.abort();
      this.onlost(reason);
    }
    return new UpstreamError(reason, "session-lost", { delivered });
  }

  async close(): Promise<void> {
    // Closing the event stream is how a 2024-11-05 session ends.
    this.closed = true;
    this.stream.abort();
    this.connections.destroy();
  }
}
