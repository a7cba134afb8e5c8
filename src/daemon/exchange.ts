import type { ServerResponse } from "node:http";
import { errorResponse, idKey, type RequestId } from "../protocol/json-rpc.js";
import { openEventStream, sseMessage } from "./event-stream.js";

/** JSON-RPC code for a request the client cancelled (the client ignores this answer; it closes the exchange). */
const REQUEST_CANCELLED = -32800;

/** Long calls switch to an event stream after this long, so clients with idle timeouts see bytes. */
const SWITCH_TO_STREAM_MS = 1000;

/**
 * The HTTP answer to one POST that carried requests. It starts as a plain JSON answer (the fastest path, one
 * write); as soon as something must reach the client before the result (progress, a sampling request) or the
 * call runs long, it becomes an SSE stream with keep-alive comments.
 */
export class Exchange {
  private readonly waiting: Set<string>;
  private readonly answers: string[] = [];
  private streaming = false;
  private done = false;
  private readonly switchTimer: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly response: ServerResponse,
    ids: RequestId[],
    private readonly batch: boolean,
    private readonly acceptsStream: boolean,
    private readonly headers: Record<string, string>,
    private readonly onDone: () => void,
  ) {
    this.waiting = new Set(ids.map(idKey));
    if (acceptsStream) this.switchTimer = setTimeout(() => this.startStream(), SWITCH_TO_STREAM_MS);
    response.on("close", () => this.finish());
  }

  get open(): boolean {
    return !this.done;
  }

  /** Takes a message for one of this exchange's requests; false if it cannot carry it (it must go elsewhere). */
  write(text: string, answers?: RequestId): boolean {
    if (this.done) return false;
    const final = answers !== undefined && this.waiting.delete(idKey(answers));
    if (!final) {
      if (!this.acceptsStream) return false;
      this.startStream();
    }
    if (this.streaming) this.response.write(sseMessage(text));
    else this.answers.push(text);
    if (this.waiting.size === 0) this.complete();
    return true;
  }

  /**
   * The client cancelled one of this exchange's requests: no answer will come for it, so the exchange stops
   * waiting. A stream simply ends; a plain JSON answer, which must carry something, says the request was cancelled.
   */
  cancel(id: RequestId): void {
    if (this.done || !this.waiting.has(idKey(id))) return;
    if (!this.acceptsStream) {
      this.write(JSON.stringify(errorResponse(id, REQUEST_CANCELLED, "Request cancelled")), id);
      return;
    }
    this.waiting.delete(idKey(id));
    if (this.waiting.size > 0) return;
    this.startStream();
    this.complete();
  }

  private startStream(): void {
    if (this.streaming || this.done) return;
    this.streaming = true;
    this.keepAlive = openEventStream(this.response, this.headers);
    for (const text of this.answers.splice(0)) this.response.write(sseMessage(text));
  }

  private complete(): void {
    if (this.streaming) this.response.end();
    else {
      const body = this.batch ? `[${this.answers.join(",")}]` : this.answers[0]!;
      this.response.writeHead(200, { ...this.headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      this.response.end(body);
    }
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.switchTimer);
    clearInterval(this.keepAlive);
    this.onDone();
  }

  /** Request ids still waiting for their answer here. */
  pendingKeys(): string[] {
    return [...this.waiting];
  }
}
