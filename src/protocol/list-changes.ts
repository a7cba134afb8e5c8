import type { JsonRpcNotification } from "./json-rpc.js";

/**
 * After a server was replaced (a restarted child, a new daemon session) it may offer other tools, prompts or
 * resources: the `list_changed` notifications that tell a client to refresh what it caches, for each list the
 * server's `initialize` answer says it announces changes of.
 */
export function listChangedNotifications(initializeResult: Record<string, unknown> | undefined): JsonRpcNotification[] {
  const capabilities = (initializeResult?.capabilities ?? {}) as Record<string, { listChanged?: boolean } | undefined>;
  return ["tools", "prompts", "resources"]
    .filter((feature) => capabilities[feature]?.listChanged)
    .map((feature) => ({ jsonrpc: "2.0", method: `notifications/${feature}/list_changed` }));
}
