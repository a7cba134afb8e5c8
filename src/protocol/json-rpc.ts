/** JSON-RPC 2.0 message shapes as they cross the proxy: validated just enough to route, never rebuilt. */

export type RequestId = string | number;

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcResult {
  jsonrpc: "2.0";
  id: RequestId;
  result: Record<string, unknown>;
}
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}
export interface JsonRpcError {
  jsonrpc: "2.0";
  id: RequestId | null;
  error: JsonRpcErrorObject;
}
export type JsonRpcResponse = JsonRpcResult | JsonRpcError;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Implementation-defined server error: the daemon could not be reached or lost the request. */
  ConnectionClosed: -32000,
  RequestTimeout: -32001,
} as const;

export type Classified =
  | { kind: "request"; message: JsonRpcRequest }
  | { kind: "notification"; message: JsonRpcNotification }
  | { kind: "response"; message: JsonRpcResponse }
  /** Not valid JSON-RPC. `id` is set when the message carried a usable one, so the error can be addressed. */
  | { kind: "invalid"; reason: string; id?: RequestId };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

export const isValidId = (id: unknown): id is RequestId => typeof id === "string" || (typeof id === "number" && Number.isFinite(id));

export function classify(value: unknown): Classified {
  if (!isObject(value)) return { kind: "invalid", reason: "a JSON-RPC message must be an object" };
  const hasId = "id" in value;
  const id = isValidId(value.id) ? value.id : undefined;
  const invalid = (reason: string): Classified => (id === undefined ? { kind: "invalid", reason } : { kind: "invalid", reason, id });

  if (value.jsonrpc !== "2.0") return invalid('"jsonrpc" must be "2.0"');
  if (hasId && id === undefined) return invalid('"id" must be a string or a number');

  if ("method" in value) {
    if (typeof value.method !== "string" || value.method === "") return invalid('"method" must be a non-empty string');
    if (value.params !== undefined && !isObject(value.params)) return invalid('"params" must be an object');
    if ("result" in value || "error" in value) return invalid("a message cannot be both a request and a response");
    return id === undefined
      ? { kind: "notification", message: value as unknown as JsonRpcNotification }
      : { kind: "request", message: value as unknown as JsonRpcRequest };
  }

  if (id === undefined) {
    // A response whose id could not be read is an error the peer sends about our message; nothing to route it to.
    return invalid(hasId ? '"id" must be a string or a number' : 'a message needs "method" or "id"');
  }
  const hasResult = "result" in value;
  const hasError = "error" in value;
  if (hasResult === hasError) return invalid('a response needs exactly one of "result" and "error"');
  if (hasError && !(isObject(value.error) && typeof value.error.code === "number" && typeof value.error.message === "string")) {
    return invalid('"error" must be an object with a numeric "code" and a string "message"');
  }
  return { kind: "response", message: value as unknown as JsonRpcResponse };
}

export function errorResponse(id: RequestId, code: number, message: string, data?: unknown): JsonRpcError {
  const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: "2.0", id, error };
}

/** The one response that may carry `id: null`: a line that was not JSON at all. */
export function parseErrorResponse(detail: string): JsonRpcError {
  return { jsonrpc: "2.0", id: null, error: { code: ErrorCode.ParseError, message: `Parse error: ${detail}` } };
}

/** Map key for an id: 1 and "1" are different requests. */
export const idKey = (id: RequestId): string => (typeof id === "number" ? `n:${id}` : `s:${id}`);

export const isResponse = (message: JsonRpcMessage): message is JsonRpcResponse => !("method" in message) && "id" in message;
export const isRequest = (message: JsonRpcMessage): message is JsonRpcRequest => "method" in message && "id" in message;
