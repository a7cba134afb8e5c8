import { readFileSync, writeFileSync } from "node:fs";
import { commandProjectDir } from "../protocol/project-path.js";
import { parseJsonl, toJsonl } from "./jsonl.js";
import { projectDatabase } from "./database-location.js";
import { KnowledgeGraphStore } from "./store.js";

function openProjectStore(project: string | undefined): KnowledgeGraphStore {
  return new KnowledgeGraphStore(projectDatabase(commandProjectDir(project)));
}

/** `mcp-manager memory import FILE`: all or nothing, and a second import of the same file adds nothing. */
export function importJsonl(file: string, project?: string): string {
  const graph = parseJsonl(readFileSync(file, "utf8"), file);
  const store = openProjectStore(project);
  try {
    const added = store.importGraph(graph);
    return (
      `imported ${file} into ${store.file}: ${added.entities} new entities, ${added.observations} new observations, ` +
      `${added.relations} new relations (the file has ${graph.entities.length} entities and ${graph.relations.length} relations)`
    );
  } finally {
    store.close();
  }
}

/** `mcp-manager memory export [FILE]`: to FILE, or to stdout. */
export function exportJsonl(file: string | undefined, project?: string): string | undefined {
  const store = openProjectStore(project);
  try {
    const graph = store.readGraph();
    const text = toJsonl(graph);
    if (!file) {
      process.stdout.write(text ? `${text}\n` : "");
      return undefined;
    }
    writeFileSync(file, text);
    return `exported ${graph.entities.length} entities and ${graph.relations.length} relations from ${store.file} to ${file}`;
  } finally {
    store.close();
  }
}
