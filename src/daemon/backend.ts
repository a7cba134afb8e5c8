import type { JsonRpcMessage, RequestId } from "../protocol/json-rpc.js";

/** What a backend needs of a client session, whichever front (HTTP, session socket) it came through. */
export interface SessionPort {
  readonly id: string;
  /** The canonical project directory the session named, if it named a valid one. */
  readonly projectPath?: string | undefined;
  /**
   * Sends a message to the client. `related` names the client's request it belongs to, if any; `text` is the
   * message already serialised on one line, when the sender has it (as UTF-8 chunks for a large one made once).
   */
  deliver(message: JsonRpcMessage, related?: RequestId, text?: string | Buffer[]): void;
}

/**
 * What serves the sessions of one scope: a SessionRouter sharing a stdio child, or an in-process server (the
 * built-in memory). The fronts and the scope pool see only this.
 */
export interface Backend {
  readonly sessionCount: number;
  attach(session: SessionPort): void;
  detach(session: SessionPort): void;
  /** A message from the session; `text` is how it arrived, on one line. */
  handle(session: SessionPort, message: JsonRpcMessage, text?: string): void;
  status(): Record<string, unknown>;
  stop(): Promise<void>;
}
