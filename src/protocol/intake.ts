import {
  ErrorCode,
  classify,
  errorResponse,
  parseErrorResponse,
  type JsonRpcError,
  type JsonRpcMessage,
  type RequestId,
} from "./json-rpc.js";

/** One valid message, with its text on one line, ready to relay without serialising it again. */
export interface Incoming {
  kind: "request" | "notification" | "response";
  message: JsonRpcMessage;
  text: string;
  /** The line's bytes, when they may be relayed as they are (large-lines.ts): set by mcp-proxy's client input. */
  bytes?: Buffer;
}

/** A message that is not valid JSON-RPC; `reply` is its -32600 answer when it carried a usable id. */
export interface Invalid {
  kind: "invalid";
  reason: string;
  reply?: JsonRpcError;
}

export type Intake =
  /** Not JSON at all: the one answer that may carry `id: null`. */
  | { kind: "parse-error"; reply: JsonRpcError }
  /** One message (`batch: false`) or the items of a batch, each valid or not, in order. */
  | { kind: "messages"; batch: boolean; items: Array<Incoming | Invalid> };

/**
 * Turns one line or body of text into JSON-RPC messages, with the same rules wherever text arrives (stdin,
 * a session socket, an HTTP body, a child's stdout, a daemon's answer): unparseable text gets -32700; an
 * invalid message gets -32600 addressed to its id when it has a usable one, and otherwise no answer at all
 * (an answer would need `id: null`, which makes clients drop the connection); a batch is a list of such items.
 */
export function intake(text: string): Intake {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: "parse-error", reply: parseErrorResponse((error as Error).message) };
  }
  const batch = Array.isArray(value);
  // A line break inside (in a body, or a CR in a line) means the text is not one line. indexOf scans a 3 MB
  // answer in 0.06 ms, a regular expression in 1 ms.
  const single = !batch && text.indexOf("\n") === -1 && text.indexOf("\r") === -1;
  const items = (batch ? (value as unknown[]) : [value]).map((item): Incoming | Invalid => {
    const classified = classify(item);
    if (classified.kind === "invalid") return invalid(classified.reason, classified.id);
    return { kind: classified.kind, message: classified.message, text: single ? text : JSON.stringify(item) };
  });
  return { kind: "messages", batch, items };
}

function invalid(reason: string, id: RequestId | undefined): Invalid {
  return id === undefined ? { kind: "invalid", reason } : { kind: "invalid", reason, reply: invalidRequest(id, reason) };
}

export const invalidRequest = (id: RequestId, reason: string): JsonRpcError =>
  errorResponse(id, ErrorCode.InvalidRequest, `Invalid request: ${reason}`);
