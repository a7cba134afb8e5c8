import { ErrorCode, errorResponse, type JsonRpcResponse, type RequestId } from "../protocol/json-rpc.js";

/** Requests one session may have in flight at once, whatever it is served by: a client gone wild is bounded. */
export const MAX_IN_FLIGHT_PER_SESSION = 1000;

/** The answer to a request past that bound. */
export function tooManyInFlight(id: RequestId): JsonRpcResponse {
  const why = `mcp-session-manager: this session has ${MAX_IN_FLIGHT_PER_SESSION} requests in flight already; wait for some to finish`;
  return errorResponse(id, ErrorCode.ConnectionClosed, why);
}
