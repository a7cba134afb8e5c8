import { ErrorCode, errorResponse, type JsonRpcError, type RequestId } from "./json-rpc.js";

const ID = String.raw`(-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*")`;
const JSONRPC = String.raw`(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?`;
/** `{"jsonrpc":"2.0","id":7,"method":…`: the id opens the object and a method follows it. */
const LEADING_ID = new RegExp(String.raw`^\s*\{\s*${JSONRPC}"id"\s*:\s*${ID}\s*,\s*${JSONRPC}"method"\s*:`);
/** `{"method":…,"id":7}` (how the MCP SDK writes requests): the method opens it and the id closes it. */
const LEADING_METHOD = /^\s*\{\s*"method"\s*:/;
const TRAILING_ID = new RegExp(String.raw`"id"\s*:\s*${ID}\s*\}\s*$`);

/**
 * The id of an oversized line, only where it is certainly a top-level request id: right after the opening
 * brace and followed by "method", or closing an object that opened with "method". A response's id (the client
 * answering a server request) never qualifies: answering it would send an id the client does not expect.
 */
export function oversizedRequestId(head: string, tail: string): RequestId | undefined {
  return idOf(LEADING_ID.exec(head) ?? (LEADING_METHOD.test(head) ? TRAILING_ID.exec(tail) : null));
}

/** `{"jsonrpc":"2.0","id":7,"result":…` (the Python SDK): the id opens the object and the outcome follows it. */
const LEADING_ANSWER_ID = new RegExp(String.raw`^\s*\{\s*${JSONRPC}"id"\s*:\s*${ID}\s*,\s*${JSONRPC}"(?:result|error)"\s*:`);
/** `{"result":…,"id":7}` (how the MCP SDK writes answers): the outcome opens it and the id closes it. */
const LEADING_OUTCOME = /^\s*\{\s*"(?:result|error)"\s*:/;

/**
 * The id of an oversized line a server wrote, where it is an answer's: placed as for requests, with "result" or
 * "error" in the place of "method". Its request can then be failed with the reason instead of waiting for good.
 */
export function oversizedAnswerId(head: string, tail: string): RequestId | undefined {
  return idOf(LEADING_ANSWER_ID.exec(head) ?? (LEADING_OUTCOME.test(head) ? TRAILING_ID.exec(tail) : null));
}

/**
 * What the request of an oversized answer gets instead of waiting for good: an error saying `holder`'s limit
 * (of `limit` bytes) dropped its `length`-byte answer; undefined when the line is not certainly an answer.
 */
export function oversizedAnswer(length: number, head: string, tail: string, limit: number, holder: string): JsonRpcError | undefined {
  const id = oversizedAnswerId(head, tail);
  if (id === undefined) return undefined;
  return errorResponse(id, ErrorCode.InternalError, `the answer of ${length} bytes exceeds ${holder}'s ${limit}-byte limit`);
}

function idOf(match: RegExpExecArray | null): RequestId | undefined {
  if (!match) return undefined;
  try {
    return JSON.parse(match[1]!) as RequestId;
  } catch {
    return undefined;
  }
}
