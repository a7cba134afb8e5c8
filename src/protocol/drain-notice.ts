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

/** Sent by a proxy on every HTTP request to our daemon: it knows the drain notice (the session socket's hello says so too). */
export const DRAINS_HEADER = "mcp-session-manager-drains";
/** On a session refused by a daemon being replaced: look for the new one, which is starting. */
export const DRAINING_HEADER = "mcp-session-manager-draining";

export const isDrainNotice = (message: JsonRpcMessage): boolean => "method" in message && message.method === DRAIN_NOTICE_METHOD;
