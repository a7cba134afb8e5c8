import { idKey, type JsonRpcMessage, type RequestId } from "../protocol/json-rpc.js";
import type { KnowledgeGraph, KnowledgeGraphStore } from "./store.js";

/**
 * Answers `tools/call read_graph` without the MCP SDK. Through the SDK a whole graph is validated twice and
 * copied (its output schema, then the result schema), then serialised: about 30 ms at 10,000 entities, each time,
 * although the graph and its text are kept between writes. The answer is the one the SDK would give, made from
 * the text kept for the graph (graph-text.ts). Only a plain call is taken (no arguments but `{}`, no `_meta`),
 * and only while the SDK has none of this session's requests in hand: a read sent after a write is answered
 * after it, as through the SDK.
 */
export class ReadGraphShortcut {
  /** Requests handed to the SDK and not answered yet. */
  private readonly withSdk = new Set<string>();

  constructor(
    private readonly store: () => KnowledgeGraphStore,
    private readonly answer: (id: RequestId, graph: KnowledgeGraph) => void,
  ) {}

  /** A message from the client: true when it was answered here; otherwise it is the SDK's to handle. */
  took(message: JsonRpcMessage): boolean {
    if (!("method" in message) || !("id" in message)) return false;
    if (this.withSdk.size === 0 && isPlainReadGraph(message.params)) {
      let graph: KnowledgeGraph | undefined;
      try {
        graph = this.store().readGraph();
      } catch {
        graph = undefined; // the SDK answers with the tool error it makes of this
      }
      if (graph) {
        this.answer(message.id, graph);
        return true;
      }
    }
    this.withSdk.add(idKey(message.id));
    return false;
  }

  /** A message the SDK sends: an answer ends what it had in hand. */
  sent(message: JsonRpcMessage): void {
    if (!("method" in message) && message.id !== null) this.withSdk.delete(idKey(message.id));
  }
}

function isPlainReadGraph(params: Record<string, unknown> | undefined): boolean {
  if (params?.name !== "read_graph" || Object.keys(params).some((key) => key !== "name" && key !== "arguments")) return false;
  const args = params.arguments;
  return args === undefined || (typeof args === "object" && args !== null && !Array.isArray(args) && Object.keys(args).length === 0);
}
