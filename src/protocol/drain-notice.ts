import type { JsonRpcMessage, JsonRpcNotification } from "./json-rpc.js";

/**
 * A daemon being replaced tells each session's proxy so with this notification, which never reaches a client:
 * the proxy sends what comes next to the new daemon, and closes its session with the old one once the answers
 * it still waits for from there have come. Outside MCP's `notifications/` space, as any extension must be.
 */
export const DRAIN_NOTICE_METHOD = "mcp-session-manager/draining";

export function drainNotice(reason: string): JsonRpcNotification {
  return { jsonrpc: "2.0", method: DRAIN_NOTICE_METHOD, params: { reason } };
}

export const isDrainNotice = (message: JsonRpcMessage): boolean => "method" in message && message.method === DRAIN_NOTICE_METHOD;
