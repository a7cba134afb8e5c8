import { ErrorCode, errorResponse, type JsonRpcError } from "../protocol/json-rpc.js";
import type { Incoming } from "../protocol/intake.js";

/** What the gate says of a message: let it through, answer it with an error, or drop it (with why, for the log). */
export type GateVerdict = { pass: true } | { pass: false; reply: JsonRpcError } | { pass: false; drop: string };

/** One verdict object for every message let through: the gate sits on every message's way. */
const PASS: GateVerdict = { pass: true };

/**
 * MCP's rule for one session, whichever front it came through: its first request is `initialize`, and only its
 * first. A request that breaks it is answered with an error under its own id; a notification or response
 * before the handshake is dropped.
 */
export class HandshakeGate {
  private initialized = false;

  /** The verdict on the message; the handshake counts as done once an `initialize` passes. */
  admit(item: Incoming): GateVerdict {
    const verdict = this.judge(item);
    if (verdict.pass && !this.initialized && isInitialize(item)) this.initialized = true;
    return verdict;
  }

  /** The verdict alone, changing nothing (a front that answers refusals its own way asks first). */
  judge(item: Incoming): GateVerdict {
    const { message } = item;
    if (item.kind === "request" && "method" in message && "id" in message) {
      if ((message.method === "initialize") === this.initialized) {
        const reason = this.initialized
          ? "Invalid Request: the session is already initialized"
          : "Bad Request: the session is not initialized; send initialize first";
        return { pass: false, reply: errorResponse(message.id, ErrorCode.InvalidRequest, reason) };
      }
      return PASS;
    }
    if (!this.initialized) return { pass: false, drop: `a ${"method" in message ? message.method : "response"} sent before initialize` };
    return PASS;
  }
}

const isInitialize = (item: Incoming) => item.kind === "request" && "method" in item.message && item.message.method === "initialize";
