import { VERSION } from "../version.js";
import { GraphCache } from "./graph-cache.js";
import { trigramFilter } from "./trigram-filter.js";
import Database from "better-sqlite3";

export interface Entity {
  name: string;
  entityType: string;
  observations: string[];
}
export interface Relation {
  from: string;
  to: string;
  relationType: string;
}
export interface KnowledgeGraph {
  entities: Entity[];
  relations: Relation[];
}

/** Schema migrations, applied in order; `schema_version` records how many have run. */
export const MIGRATIONS = [
  `CREATE TABLE entities (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     entity_type TEXT NOT NULL
   );
   CREATE TABLE observations (
     id INTEGER PRIMARY KEY,
     entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
     content TEXT NOT NULL,
     UNIQUE (entity_id, content)
   );
   CREATE TABLE relations (
     id INTEGER PRIMARY KEY,
     from_name TEXT NOT NULL,
     to_name TEXT NOT NULL,
     relation_type TEXT NOT NULL,
     UNIQUE (from_name, to_name, relation_type)
   );
   CREATE INDEX relations_by_to ON relations (to_name);
   -- Lower-cased names, types and observations, indexed by trigrams: substring search without a scan.
   -- rowid: an observation's id, or -2*entity id (name) and -2*entity id - 1 (type).
   CREATE VIRTUAL TABLE search USING fts5 (entity_id UNINDEXED, text, tokenize = 'trigram case_sensitive 1');`,
];

const BUSY_TIMEOUT_MS = 5000;

/** A database that cannot serve: the message names the file, what is wrong, and what to do. */
export class DatabaseUnavailable extends Error {
  override name = "DatabaseUnavailable";
}

/**
 * Opens `file` and makes sure it is a sound knowledge graph before anything is written to it: a file that is not
 * SQLite, fails SQLite's quick check, or carries triggers or views (a checkout's database could make every write
 * run a query of its choosing on the daemon's thread) is refused, so nothing bad is run and nothing damaged made worse.
 */
function openChecked(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("trusted_schema = OFF");
    const check = db.pragma("quick_check", { simple: true }) as string;
    if (check !== "ok") throw new Error(`SQLite's quick check found: ${check}`);
    const foreign = db
      .prepare<[], { type: string; name: string }>("SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'view')")
      .all();
    if (foreign.length)
      throw new Error(
        `it holds ${foreign.map(({ type, name }) => `${type} ${JSON.stringify(name)}`).join(", ")}, which no graph of ours has`,
      );
    db.pragma("journal_mode = WAL"); // the first write, once the file proved sound
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    migrate(db, file);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof DatabaseUnavailable) throw error;
    const reason = (error as Error).message;
    if (
      db === undefined &&
      /bindings file|\.node\b|ERR_DLOPEN_FAILED|NODE_MODULE_VERSION/.test(`${reason} ${(error as NodeJS.ErrnoException).code ?? ""}`)
    ) {
      // Nothing is wrong with the file: SQLite itself (a native addon) could not be loaded.
      throw new DatabaseUnavailable(
        `the built-in memory cannot open ${file}: its SQLite addon (better-sqlite3) is not built for this Node ` +
          `(${process.version}): ${reason.split("\n")[0]}. Rebuild it: npm rebuild better-sqlite3 (in the directory mcp-session-manager ` +
          "is installed in; it needs Python 3, make and a C++ compiler), then mcp-manager restart memory",
        { cause: error },
      );
    }
    throw new DatabaseUnavailable(
      `the memory database ${file} cannot be used (${reason}); move it aside (mv "${file}" "${file}.damaged") and the next call ` +
        "starts a new graph, or put back a backup",
      { cause: error },
    );
  }
}

/**
 * The knowledge graph of one project in SQLite (WAL, busy timeout, foreign keys): the same operations and
 * answers as the official memory server's JSONL store, safe for many writers. Order is insertion order
 * throughout, as in the official server. Names are unique, and so are an entity's observations and relations.
 */
export class KnowledgeGraphStore {
  readonly db: Database.Database;
  private readonly statements;
  /** The whole graph as last read, kept up to date by what this connection writes (see readGraph). */
  private readonly cache = new GraphCache();
  /** SQLite's data_version when the cache was last read whole: it changes with every other connection's commit. */
  private cacheVersion: number | undefined;
  /** Entities this connection changed since the cache was last brought up to date (created, changed, deleted). */
  private readonly touched = new Set<number>();
  private relationsTouched = false;

  /** Opens (or creates) the store; throws DatabaseUnavailable when the file is not a sound database. */
  constructor(readonly file: string) {
    this.db = openChecked(file);
    const db = this.db;
    this.statements = {
      entityId: db.prepare<[string], { id: number }>("SELECT id FROM entities WHERE name = ?"),
      insertEntity: db.prepare<[string, string]>("INSERT INTO entities (name, entity_type) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"),
      insertObservation: db.prepare<[number, string]>(
        "INSERT INTO observations (entity_id, content) VALUES (?, ?) ON CONFLICT (entity_id, content) DO NOTHING",
      ),
      insertRelation: db.prepare<[string, string, string]>(
        "INSERT INTO relations (from_name, to_name, relation_type) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      index: db.prepare<[number, number, string]>("INSERT INTO search (rowid, entity_id, text) VALUES (?, ?, ?)"),
      unindex: db.prepare<[number]>("DELETE FROM search WHERE rowid = ?"),
      unindexEntity: db.prepare<[number]>("DELETE FROM search WHERE entity_id = ?"),
      deleteEntity: db.prepare<[number]>("DELETE FROM entities WHERE id = ?"),
      deleteRelationsOf: db.prepare<[string, string]>("DELETE FROM relations WHERE from_name = ? OR to_name = ?"),
      observationId: db.prepare<[number, string], { id: number }>("SELECT id FROM observations WHERE entity_id = ? AND content = ?"),
      deleteObservation: db.prepare<[number]>("DELETE FROM observations WHERE id = ?"),
      deleteRelation: db.prepare<[string, string, string]>(
        "DELETE FROM relations WHERE from_name = ? AND to_name = ? AND relation_type = ?",
      ),
      allEntities: db.prepare<[], { id: number; name: string; entity_type: string }>(
        "SELECT id, name, entity_type FROM entities ORDER BY id",
      ),
      allObservations: db.prepare<[], { entity_id: number; content: string }>("SELECT entity_id, content FROM observations ORDER BY id"),
      allRelations: db.prepare<[], { id: number; from_name: string; to_name: string; relation_type: string }>(
        "SELECT id, from_name, to_name, relation_type FROM relations ORDER BY id",
      ),
      entityCount: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM entities"),
      entityById: db.prepare<[number], { id: number; name: string; entity_type: string }>(
        "SELECT id, name, entity_type FROM entities WHERE id = ?",
      ),
      observationsOf: db.prepare<[number], { content: string }>("SELECT content FROM observations WHERE entity_id = ? ORDER BY id"),
      relationsTouching: db.prepare<[string, string], { id: number; from_name: string; to_name: string; relation_type: string }>(
        "SELECT id, from_name, to_name, relation_type FROM relations WHERE from_name = ? UNION SELECT id, from_name, to_name, relation_type FROM relations WHERE to_name = ?",
      ),
      searchMatch: db.prepare<[string, string], { entity_id: number }>(
        "SELECT DISTINCT entity_id FROM search WHERE search MATCH ? AND instr(text, ?) > 0",
      ),
      searchScan: db.prepare<[string], { entity_id: number }>("SELECT DISTINCT entity_id FROM search WHERE instr(text, ?) > 0"),
    };
  }

  /** Creates the entities whose names are new; returns those (as the official server does). */
  createEntities(entities: Entity[]): Entity[] {
    return this.write(() => {
      const created: Entity[] = [];
      for (const entity of entities) {
        const result = this.statements.insertEntity.run(entity.name, entity.entityType);
        if (result.changes === 0) continue;
        const id = Number(result.lastInsertRowid);
        this.touched.add(id);
        this.statements.index.run(-2 * id, id, entity.name.toLowerCase());
        this.statements.index.run(-2 * id - 1, id, entity.entityType.toLowerCase());
        const kept: string[] = [];
        for (const content of entity.observations) if (this.addObservation(id, content)) kept.push(content);
        created.push({ name: entity.name, entityType: entity.entityType, observations: kept });
      }
      return created;
    });
  }

  private addObservation(entityId: number, content: string): boolean {
    const result = this.statements.insertObservation.run(entityId, content);
    if (result.changes === 0) return false;
    this.touched.add(entityId);
    this.statements.index.run(Number(result.lastInsertRowid), entityId, content.toLowerCase());
    return true;
  }

  createRelations(relations: Relation[]): Relation[] {
    return this.write(() => {
      this.relationsTouched = true;
      return relations.filter((r) => this.statements.insertRelation.run(r.from, r.to, r.relationType).changes > 0);
    });
  }

  /** Adds what is new to each entity; an unknown entity fails the whole call and changes nothing. */
  addObservations(
    additions: Array<{ entityName: string; contents: string[] }>,
  ): Array<{ entityName: string; addedObservations: string[] }> {
    return this.write(() =>
      additions.map((addition) => {
        const entity = this.statements.entityId.get(addition.entityName);
        if (!entity) throw new Error(`Entity with name ${addition.entityName} not found`);
        const added = addition.contents.filter((content) => this.addObservation(entity.id, content));
        return { entityName: addition.entityName, addedObservations: added };
      }),
    );
  }

  /** Deletes the entities, their observations and every relation that touches them. */
  deleteEntities(names: string[]): void {
    this.write(() => {
      for (const name of names) {
        const entity = this.statements.entityId.get(name);
        if (entity) {
          this.touched.add(entity.id);
          this.statements.unindexEntity.run(entity.id);
          this.statements.deleteEntity.run(entity.id);
        }
        this.relationsTouched = true;
        this.statements.deleteRelationsOf.run(name, name);
      }
    });
  }

  deleteObservations(deletions: Array<{ entityName: string; observations: string[] }>): void {
    this.write(() => {
      for (const deletion of deletions) {
        const entity = this.statements.entityId.get(deletion.entityName);
        if (!entity) continue;
        for (const content of deletion.observations) {
          const observation = this.statements.observationId.get(entity.id, content);
          if (!observation) continue;
          this.touched.add(entity.id);
          this.statements.unindex.run(observation.id);
          this.statements.deleteObservation.run(observation.id);
        }
      }
    });
  }

  deleteRelations(relations: Relation[]): void {
    this.write(() => {
      this.relationsTouched = true;
      relations.forEach((r) => this.statements.deleteRelation.run(r.from, r.to, r.relationType));
    });
  }

  /**
   * Merges a whole graph in one transaction: new entities, the observations and relations not there yet.
   * Importing the same graph twice changes nothing the second time.
   */
  importGraph(graph: KnowledgeGraph): { entities: number; observations: number; relations: number } {
    return this.write(() => {
      const counts = { entities: 0, observations: 0, relations: 0 };
      for (const entity of graph.entities) {
        counts.entities += this.createEntities([{ ...entity, observations: [] }]).length;
        const id = this.statements.entityId.get(entity.name)!.id;
        for (const content of entity.observations) if (this.addObservation(id, content)) counts.observations += 1;
      }
      counts.relations = this.createRelations(graph.relations).length;
      return counts;
    });
  }

  /**
   * The whole graph. Sessions read it at every start, so it is kept between writes. What this connection
   * wrote is read again alone (the entities it touched, the relations if it touched any); a commit from any
   * other connection (another daemon, `memory --stdio`, an import) has the whole graph read again. The graph
   * returned is shared: callers must not change it.
   */
  readGraph(): KnowledgeGraph {
    return this.db
      .transaction(() => {
        const version = this.db.pragma("data_version", { simple: true }) as number;
        if (version !== this.cacheVersion) {
          this.cache.replaceAll(this.allEntities(), this.allRelations());
          this.cacheVersion = version;
        } else {
          for (const id of this.touched) this.cache.setEntity(id, this.entity(id));
          if (this.relationsTouched) this.cache.setRelations(this.allRelations());
        }
        this.touched.clear();
        this.relationsTouched = false;
        return this.cache.graph();
      })
      .deferred();
  }

  /** How many entities the graph holds (for status: cheap, an index count). */
  entityCount(): number {
    return this.statements.entityCount.get()!.n;
  }

  /** Entities whose name, type or an observation contains `query`, ignoring case; relations touching them. */
  searchNodes(query: string): KnowledgeGraph {
    const needle = query.toLowerCase();
    if (needle === "") return this.readGraph();
    return this.db
      .transaction(() => {
        // Three characters make a trigram the index can look up; shorter needles are found by a scan.
        const filter = trigramFilter(needle);
        const rows = filter ? this.statements.searchMatch.all(filter, needle) : this.statements.searchScan.all(needle);
        return this.graphOf(new Set(rows.map((row) => row.entity_id)));
      })
      .deferred();
  }

  openNodes(names: string[]): KnowledgeGraph {
    return this.db
      .transaction(() => {
        const ids = new Set<number>();
        for (const name of names) {
          const entity = this.statements.entityId.get(name);
          if (entity) ids.add(entity.id);
        }
        return this.graphOf(ids);
      })
      .deferred();
  }

  /** The entities with these ids (all when undefined), in insertion order, and the relations touching them. */
  private graphOf(ids: Set<number>): KnowledgeGraph {
    const entities: Entity[] = [];
    const relations = new Map<number, Relation>();
    for (const id of [...ids].sort((a, b) => a - b)) {
      const row = this.statements.entityById.get(id);
      if (!row) continue;
      entities.push({
        name: row.name,
        entityType: row.entity_type,
        observations: this.statements.observationsOf.all(id).map((o) => o.content),
      });
      for (const r of this.statements.relationsTouching.all(row.name, row.name)) {
        relations.set(r.id, { from: r.from_name, to: r.to_name, relationType: r.relation_type });
      }
    }
    const ordered = [...relations].sort(([a], [b]) => a - b).map(([, relation]) => relation);
    return { entities, relations: ordered };
  }

  /** Every entity with its observations, by id in insertion order. */
  private allEntities(): Array<[number, Entity]> {
    // Rows as arrays, fetched at once: about half the time of row objects from an iterator on a large graph.
    const byId = new Map<number, Entity>();
    for (const [id, name, entityType] of this.statements.allEntities.raw().all() as unknown as Array<[number, string, string]>) {
      byId.set(id, { name, entityType, observations: [] });
    }
    for (const [entityId, content] of this.statements.allObservations.raw().all() as unknown as Array<[number, string]>) {
      byId.get(entityId)?.observations.push(content);
    }
    return [...byId];
  }

  private allRelations(): Array<[number, Relation]> {
    return (this.statements.allRelations.raw().all() as unknown as Array<[number, string, string, string]>).map(
      ([id, from, to, relationType]) => [id, { from, to, relationType }],
    );
  }

  /** One entity with its observations, or undefined when there is none with this id. */
  private entity(id: number): Entity | undefined {
    const row = this.statements.entityById.get(id);
    if (!row) return undefined;
    return { name: row.name, entityType: row.entity_type, observations: this.statements.observationsOf.all(id).map((o) => o.content) };
  }

  /** Runs `change` as one write transaction (taking the write lock at once, so concurrent writers queue). */
  private write<T>(change: () => T): T {
    try {
      return this.db.transaction(change).immediate();
    } catch (error) {
      // Rolled back, perhaps in part: what it touched is unknown, so the next read reads the whole graph.
      this.cacheVersion = undefined;
      throw error;
    }
  }

  close(): void {
    this.db.close();
  }
}

/** Brings the schema up to date. Read and written under one write lock: processes opening a new file at once
 * must not both run the same migration. */
/**
 * Brings the database's schema up to `migrations` (this version's, unless a test says otherwise): the check and
 * every step run in one IMMEDIATE transaction, so of several processes opening an older file at once one
 * migrates and the others find it done. A newer file than this version knows is refused before anything is
 * written to it.
 */
export function migrate(db: Database.Database, file: string, migrations: readonly string[] = MIGRATIONS): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  db.transaction(() => {
    const current = db.prepare<[], { version: number }>("SELECT version FROM schema_version").get()?.version ?? 0;
    if (current > migrations.length) {
      throw new DatabaseUnavailable(
        `the memory database ${file} has schema version ${current}, newer than this version of mcp-session-manager ` +
          `(${VERSION}, schema ${migrations.length}) knows; nothing was written to it. A newer version made it: ` +
          "install that one (npm install -g mcp-session-manager), then run mcp-manager upgrade",
      );
    }
    if (current === migrations.length) return;
    for (const migration of migrations.slice(current)) db.exec(migration);
    db.exec("DELETE FROM schema_version");
    db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(migrations.length);
  }).immediate();
}
