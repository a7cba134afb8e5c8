import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import type { SessionPort } from "./multiplexer.js";

/**
 * What serves the sessions of one scope: a Multiplexer sharing a stdio child, or an in-process server
 * (the built-in memory). The HTTP front and the scope pool see only this.
 */
export interface Backend {
  readonly sessionCount: number;
  attach(session: SessionPort): void;
  detach(session: SessionPort): void;
  handle(session: SessionPort, message: JsonRpcMessage): void;
  status(): Record<string, unknown>;
  stop(): Promise<void>;
}
