import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { VERSION } from "../version.js";
import { indentedGraph, readGraphResult } from "./graph-text.js";
import type { KnowledgeGraphStore } from "./store.js";

export const GRAPH_RESOURCE = "memory://knowledge-graph";

// The official server's shapes, word for word: tools/list must read the same, so prompts written for it work.
const EntitySchema = z.object({
  name: z.string().describe("The name of the entity"),
  entityType: z.string().describe("The type of the entity"),
  observations: z.array(z.string()).describe("An array of observation contents associated with the entity"),
});
const RelationSchema = z.object({
  from: z.string().describe("The name of the entity where the relation starts"),
  to: z.string().describe("The name of the entity where the relation ends"),
  relationType: z.string().describe("The type of the relation"),
});
const writes = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
const deletes = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };
const reads = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

const json = (value: unknown) => [{ type: "text" as const, text: JSON.stringify(value, null, 2) }];

export interface MemoryServerHooks {
  /** The store this session works on. */
  store: () => KnowledgeGraphStore;
  /** Called after every change to the graph (so subscribers of every session sharing the store hear of it). */
  changed: () => void;
}

/**
 * An MCP server with the nine tools, the resource and the subscriptions of @modelcontextprotocol/server-memory,
 * backed by a SQLite store. `subscribed()` tells whether this session asked for graph updates.
 */
export function createMemoryServer(hooks: MemoryServerHooks): { server: McpServer; subscribed: () => boolean } {
  const server = new McpServer({ name: "mcp-session-manager-memory", version: VERSION });
  const subscriptions = new Set<string>();
  const mutated = <T>(result: T): T => {
    hooks.changed();
    return result;
  };

  server.registerTool(
    "create_entities",
    {
      title: "Create Entities",
      description: "Create multiple new entities in the knowledge graph",
      inputSchema: { entities: z.array(EntitySchema) },
      outputSchema: { entities: z.array(EntitySchema) },
      annotations: writes,
    },
    async ({ entities }) => {
      const result = mutated(hooks.store().createEntities(entities));
      return { content: json(result), structuredContent: { entities: result } };
    },
  );
  server.registerTool(
    "create_relations",
    {
      title: "Create Relations",
      description: "Create multiple new relations between entities in the knowledge graph. Relations should be in active voice",
      inputSchema: { relations: z.array(RelationSchema) },
      outputSchema: { relations: z.array(RelationSchema) },
      annotations: writes,
    },
    async ({ relations }) => {
      const result = mutated(hooks.store().createRelations(relations));
      return { content: json(result), structuredContent: { relations: result } };
    },
  );
  server.registerTool(
    "add_observations",
    {
      title: "Add Observations",
      description: "Add new observations to existing entities in the knowledge graph",
      inputSchema: {
        observations: z.array(
          z.object({
            entityName: z.string().describe("The name of the entity to add the observations to"),
            contents: z.array(z.string()).describe("An array of observation contents to add"),
          }),
        ),
      },
      outputSchema: { results: z.array(z.object({ entityName: z.string(), addedObservations: z.array(z.string()) })) },
      annotations: writes,
    },
    async ({ observations }) => {
      const result = mutated(hooks.store().addObservations(observations));
      return { content: json(result), structuredContent: { results: result } };
    },
  );
  server.registerTool(
    "delete_entities",
    {
      title: "Delete Entities",
      description: "Delete multiple entities and their associated relations from the knowledge graph",
      inputSchema: { entityNames: z.array(z.string()).describe("An array of entity names to delete") },
      outputSchema: { success: z.boolean(), message: z.string() },
      annotations: deletes,
    },
    async ({ entityNames }) => {
      mutated(hooks.store().deleteEntities(entityNames));
      return {
        content: [{ type: "text", text: "Entities deleted successfully" }],
        structuredContent: { success: true, message: "Entities deleted successfully" },
      };
    },
  );
  server.registerTool(
    "delete_observations",
    {
      title: "Delete Observations",
      description: "Delete specific observations from entities in the knowledge graph",
      inputSchema: {
        deletions: z.array(
          z.object({
            entityName: z.string().describe("The name of the entity containing the observations"),
            observations: z.array(z.string()).describe("An array of observations to delete"),
          }),
        ),
      },
      outputSchema: { success: z.boolean(), message: z.string() },
      annotations: deletes,
    },
    async ({ deletions }) => {
      mutated(hooks.store().deleteObservations(deletions));
      return {
        content: [{ type: "text", text: "Observations deleted successfully" }],
        structuredContent: { success: true, message: "Observations deleted successfully" },
      };
    },
  );
  server.registerTool(
    "delete_relations",
    {
      title: "Delete Relations",
      description: "Delete multiple relations from the knowledge graph",
      inputSchema: { relations: z.array(RelationSchema).describe("An array of relations to delete") },
      outputSchema: { success: z.boolean(), message: z.string() },
      annotations: deletes,
    },
    async ({ relations }) => {
      mutated(hooks.store().deleteRelations(relations));
      return {
        content: [{ type: "text", text: "Relations deleted successfully" }],
        structuredContent: { success: true, message: "Relations deleted successfully" },
      };
    },
  );
  server.registerTool(
    "read_graph",
    {
      title: "Read Graph",
      description: "Read the entire knowledge graph",
      inputSchema: {},
      outputSchema: { entities: z.array(EntitySchema), relations: z.array(RelationSchema) },
      annotations: reads,
    },
    async () => {
      const graph = hooks.store().readGraph();
      return readGraphResult(graph);
    },
  );
  server.registerTool(
    "search_nodes",
    {
      title: "Search Nodes",
      description: "Search for nodes in the knowledge graph based on a query",
      inputSchema: { query: z.string().describe("The search query to match against entity names, types, and observation content") },
      outputSchema: { entities: z.array(EntitySchema), relations: z.array(RelationSchema) },
      annotations: reads,
    },
    async ({ query }) => {
      const graph = hooks.store().searchNodes(query);
      return { content: json(graph), structuredContent: { ...graph } };
    },
  );
  server.registerTool(
    "open_nodes",
    {
      title: "Open Nodes",
      description: "Open specific nodes in the knowledge graph by their names",
      inputSchema: { names: z.array(z.string()).describe("An array of entity names to retrieve") },
      outputSchema: { entities: z.array(EntitySchema), relations: z.array(RelationSchema) },
      annotations: reads,
    },
    async ({ names }) => {
      const graph = hooks.store().openNodes(names);
      return { content: json(graph), structuredContent: { ...graph } };
    },
  );

  server.registerResource(
    "knowledge-graph",
    GRAPH_RESOURCE,
    { title: "Knowledge Graph", description: "The full knowledge graph with all entities and relations", mimeType: "application/json" },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: "application/json", text: indentedGraph(hooks.store().readGraph()) }],
    }),
  );
  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });
  return { server, subscribed: () => subscriptions.has(GRAPH_RESOURCE) };
}
