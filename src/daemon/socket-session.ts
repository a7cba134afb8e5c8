import type { Socket } from "node:net";
import { ErrorCode, classify, errorResponse, parseErrorResponse, type JsonRpcMessage } from "../protocol/json-rpc.js";
import type { Backend } from "./backend.js";
import type { OpenSession } from "./session-registry.js";

/** What a client may leave unread before its session is ended: a proxy that stopped reading is stuck for good. */
const MAX_UNREAD_BYTES = 64 * 1024 * 1024;

/**
 * One session on the daemon's session socket: the connection is the session, messages are lines both ways,
 * in order. Like a streamable HTTP session, its first request must be `initialize`, and only its first.
 */
export class SocketSession implements OpenSession {
  private initialized = false;

  constructor(
    readonly id: string,
    readonly backend: Backend,
    readonly scopeKey: string,
    readonly projectPath: string | undefined,
    private readonly socket: Socket,
    private readonly log: (line: string) => void,
  ) {}

  /** One line from the client: a message or a batch of them. Nothing is taken once the session has ended. */
  receive(text: string): void {
    if (this.socket.writableEnded) return; // the session has ended: the daemon is stopping
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.send(parseErrorResponse((error as Error).message));
      return;
    }
    for (const item of Array.isArray(value) ? value : [value]) this.intake(item);
  }

  private intake(item: unknown): void {
    const classified = classify(item);
    if (classified.kind === "invalid") {
      if (classified.id !== undefined)
        this.send(errorResponse(classified.id, ErrorCode.InvalidRequest, `Invalid request: ${classified.reason}`));
      else this.log(`session ${this.id}: ignoring an invalid message (${classified.reason})`);
      return;
    }
    const { message } = classified;
    if (classified.kind === "request") {
      const initialize = classified.message.method === "initialize";
      if (initialize && this.initialized) {
        this.send(errorResponse(classified.message.id, ErrorCode.InvalidRequest, "Invalid Request: the session is already initialized"));
        return;
      }
      if (!initialize && !this.initialized) {
        this.send(
          errorResponse(
            classified.message.id,
            ErrorCode.InvalidRequest,
            "Bad Request: the session is not initialized; send initialize first",
          ),
        );
        return;
      }
      this.initialized = true;
    } else if (!this.initialized) {
      this.log(`session ${this.id}: ignoring a ${"method" in message ? message.method : "response"} sent before initialize`);
      return;
    }
    this.backend.handle(this, message);
  }

  deliver(message: JsonRpcMessage): void {
    this.send(message);
  }

  private send(message: JsonRpcMessage): void {
    if (this.socket.destroyed) return;
    this.socket.write(JSON.stringify(message) + "\n");
    if (this.socket.writableLength > MAX_UNREAD_BYTES) {
      this.log(`session ${this.id}: the client left ${this.socket.writableLength} bytes unread; closing it`);
      this.socket.destroy();
    }
  }

  /** The connection itself says whether the client is there: never idle while it is open. */
  idleMs(): number {
    return 0;
  }

  close(): void {
    this.socket.end();
  }
}
