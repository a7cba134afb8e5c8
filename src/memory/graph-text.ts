import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { KnowledgeGraph } from "./store.js";

/**
 * The whole graph as text, made once per version of the graph: the store hands out one object per version until
 * a write, so sessions that read the graph at start (most do) share one serialisation instead of each making
 * megabytes of JSON. Weakly held: an outdated graph and its text go together.
 */
interface GraphTexts {
  /** What read_graph's text content says: the graph, indented as the official server writes it. */
  indented: string;
  /** The whole read_graph result, serialised. */
  result: string;
}

const texts = new WeakMap<KnowledgeGraph, GraphTexts>();

function textsOf(graph: KnowledgeGraph): GraphTexts {
  let made = texts.get(graph);
  if (!made) {
    const indented = JSON.stringify(graph, null, 2);
    made = {
      indented,
      result: `{"content":[{"type":"text","text":${JSON.stringify(indented)}}],"structuredContent":${JSON.stringify(graph)}}`,
    };
    texts.set(graph, made);
  }
  return made;
}

/** The indented text of a whole graph (read_graph's text content, the graph resource's contents). */
export const indentedGraph = (graph: KnowledgeGraph): string => textsOf(graph).indented;

/** read_graph's result for `graph`: its text content and the graph itself as structured content. */
export function readGraphResult(graph: KnowledgeGraph): CallToolResult {
  // The graph object itself (not a copy): answerText recognises the answer by it.
  return { content: [{ type: "text", text: indentedGraph(graph) }], structuredContent: graph as unknown as Record<string, unknown> };
}

/**
 * The line for an answer that carries a read_graph result made by readGraphResult, from the text made once for
 * its graph; undefined for any other message (the transport serialises those itself).
 */
export function answerText(message: object): string | undefined {
  // Every answer the memory server sends passes here: one WeakMap lookup decides for all but read_graph's.
  if (!("result" in message) || !("id" in message)) return undefined;
  const result = message.result as { content?: unknown; structuredContent?: unknown } | null;
  const graph = result?.structuredContent;
  const made = graph && typeof graph === "object" ? texts.get(graph as KnowledgeGraph) : undefined;
  if (!made || !result) return undefined;
  // Only the result readGraphResult made, as it made it: nothing else in the answer or the result.
  const item =
    Array.isArray(result.content) && result.content.length === 1 ? (result.content[0] as { type?: unknown; text?: unknown }) : undefined;
  const exact = Object.keys(message).length === 3 && Object.keys(result).length === 2;
  if (!exact || item?.type !== "text" || item.text !== made.indented) return undefined;
  return `{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":${made.result}}`;
}
