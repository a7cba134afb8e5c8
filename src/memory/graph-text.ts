import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { KnowledgeGraph } from "./store.js";

/** How a graph's texts are made: each exactly what JSON.stringify gives, made on first use. */
export interface GraphTextMaker {
  /** What read_graph's text content says: the graph, indented as the official server writes it. */
  indented(): string;
  /** read_graph's whole result, serialised as UTF-8: what follows `"result":` in its answer. */
  result(): Buffer;
}

interface GraphTexts {
  maker: GraphTextMaker;
  indented?: string;
  result?: Buffer;
}

/**
 * The whole graph as text, made once per version of the graph: the store hands out one object per version until
 * a write, so sessions that read the graph at start (most do) share one serialisation instead of each making
 * megabytes of JSON. Weakly held: an outdated graph and its texts go together.
 */
const texts = new WeakMap<KnowledgeGraph, GraphTexts>();

/** How the texts of `graph` are made, when its maker knows better than serialising it whole (graph-cache.ts). */
export function keepGraphText(graph: KnowledgeGraph, maker: GraphTextMaker): void {
  texts.set(graph, { maker });
}

function textsOf(graph: KnowledgeGraph): GraphTexts {
  let made = texts.get(graph);
  if (!made) {
    const maker: GraphTextMaker = {
      indented: () => JSON.stringify(graph, null, 2),
      result: () =>
        Buffer.from(
          `{"content":[{"type":"text","text":${JSON.stringify(indentedGraph(graph))}}],"structuredContent":${JSON.stringify(graph)}}`,
        ),
    };
    made = { maker };
    texts.set(graph, made);
  }
  return made;
}

/** The indented text of a whole graph (read_graph's text content, the graph resource's contents). */
export function indentedGraph(graph: KnowledgeGraph): string {
  const made = textsOf(graph);
  return (made.indented ??= made.maker.indented());
}

function resultOf(graph: KnowledgeGraph): Buffer {
  const made = textsOf(graph);
  return (made.result ??= made.maker.result());
}

/** read_graph's result for `graph`: its text content and the graph itself as structured content. */
export function readGraphResult(graph: KnowledgeGraph): CallToolResult {
  return { content: [{ type: "text", text: indentedGraph(graph) }], structuredContent: graph as unknown as Record<string, unknown> };
}

/**
 * read_graph's answer to request `id`, as the UTF-8 line a client reads (without its newline), in chunks to
 * write in order. Megabytes at 10,000 entities: the graph's part is encoded once per version of the graph and
 * written as it is, never copied into each answer.
 */
export function readGraphLine(id: string | number, graph: KnowledgeGraph): Buffer[] {
  return [Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`), resultOf(graph), CLOSE];
}

const CLOSE = Buffer.from("}");
