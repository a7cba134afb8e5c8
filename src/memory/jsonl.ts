import type { Entity, KnowledgeGraph, Relation } from "./store.js";

/** The official memory server's file format: one JSON object per line, entities then relations. */
export function parseJsonl(text: string, source: string): KnowledgeGraph {
  const graph: KnowledgeGraph = { entities: [], relations: [] };
  text.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    const where = `${source} line ${index + 1}`;
    let item: Record<string, unknown>;
    try {
      item = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`${where} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const isString = (key: string) => typeof item[key] === "string";
    if (item.type === "entity") {
      const observations: unknown = item.observations ?? [];
      if (!isString("name") || !isString("entityType") || !Array.isArray(observations) || observations.some((o) => typeof o !== "string")) {
        throw new Error(`${where}: an entity needs a string name and entityType and an array of string observations`);
      }
      graph.entities.push({ name: item.name, entityType: item.entityType, observations: observations as string[] } as Entity);
    } else if (item.type === "relation") {
      if (!isString("from") || !isString("to") || !isString("relationType")) {
        throw new Error(`${where}: a relation needs string from, to and relationType`);
      }
      graph.relations.push({ from: item.from, to: item.to, relationType: item.relationType } as Relation);
    } else {
      throw new Error(`${where}: "type" must be "entity" or "relation"`);
    }
  });
  return graph;
}

export function toJsonl(graph: KnowledgeGraph): string {
  return [
    ...graph.entities.map((e) => JSON.stringify({ type: "entity", name: e.name, entityType: e.entityType, observations: e.observations })),
    ...graph.relations.map((r) => JSON.stringify({ type: "relation", from: r.from, to: r.to, relationType: r.relationType })),
  ].join("\n");
}
