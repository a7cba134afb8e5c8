import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ClientServerEntry } from "./client-entry.js";
import type { ClientFile } from "./client-locations.js";
import { findMemoryFile } from "./official-memory.js";
import { countOf } from "../logging/count.js";
import { parseJsonl } from "../memory/jsonl.js";
import { databaseFor, projectDatabase } from "../memory/database-location.js";
import { KnowledgeGraphStore, type KnowledgeGraph } from "../memory/store.js";
import { canonicalProjectDir } from "../protocol/project-path.js";

/** Where a user-wide graph lands, and how a project gets it: sessions in a project use the project's own. */
const GLOBAL_NOTE =
  "; sessions started in a project keep their own graph in <project>/.claude/memory.db (empty at first), this one is " +
  "what sessions outside any project see; to give a project this graph: mcp-manager memory export FILE --project ~ " +
  "then mcp-manager memory import FILE --project DIR";

/** One official memory file on its way into the built-in memory's database; run when the install commits. */
export class MemoryImport {
  constructor(
    readonly file: string,
    private readonly graph: KnowledgeGraph,
    /** The project whose database receives it; undefined for the global database. */
    private readonly project: string | undefined,
  ) {}

  /** Merges the graph in one transaction (all or nothing); returns the line that reports it. */
  run(): string {
    const database = this.project ? projectDatabase(this.project) : databaseFor(undefined).file;
    const store = new KnowledgeGraphStore(database);
    try {
      const added = store.importGraph(this.graph);
      return (
        `imported ${this.file} into ${database}: ${countOf(added.entities, "new entity", "new entities")}, ` +
        `${countOf(added.observations, "new observation")}, ${countOf(added.relations, "new relation")} (the file itself is left as it was)`
      );
    } finally {
      store.close();
    }
  }
}

/**
 * What replacing this official memory entry brings along: the graph of its JSONL file, bound for the database its
 * sessions will use (a user-wide entry: the global one; a project's entry: that project's), or nothing to import.
 * An unreadable file, or a project that may not hold a database, is an error: the entry is then left alone.
 */
export function planMemoryImport(
  entry: ClientServerEntry,
  file: ClientFile,
): { memoryImport?: MemoryImport; summary: string } | { error: string } {
  let project: string | undefined;
  if (file.scope !== "user" && file.project) {
    const checked = canonicalProjectDir(file.project);
    if ("error" in checked) return { error: `its project ${file.project} ${checked.error}` };
    project = checked.path;
  }
  const destination = join(project ?? homedir(), ".claude", "memory.db");
  const found = findMemoryFile(entry);
  if ("none" in found) return { summary: `nothing to import (${found.none}); memory starts empty in ${destination}` };
  let graph: KnowledgeGraph;
  try {
    graph = parseJsonl(readFileSync(found.file, "utf8"), found.file);
  } catch (error) {
    return { error: `its file cannot be imported: ${(error as Error).message}` };
  }
  const others = found.others.length ? `; older copies not imported: ${found.others.join(", ")}` : "";
  return {
    memoryImport: new MemoryImport(found.file, graph, project),
    summary: `its ${found.file} (${countOf(graph.entities.length, "entity", "entities")}, ${countOf(graph.relations.length, "relation")}) is imported into ${destination}${others}${
      project ? "" : GLOBAL_NOTE
    }`,
  };
}
