import { statSync } from "node:fs";
import type { DatabaseReport } from "../runtime/daemon-health.js";
import { KnowledgeGraphStore } from "./store.js";

/** Open stores by database file, shared by the sessions using them and closed once unused for a while. */
export class StorePool {
  private readonly open = new Map<string, { store: KnowledgeGraphStore; users: number; idle?: NodeJS.Timeout }>();

  constructor(private readonly idleCloseMs = 10 * 60_000) {}

  acquire(file: string): KnowledgeGraphStore {
    let entry = this.open.get(file);
    if (!entry) {
      entry = { store: new KnowledgeGraphStore(file), users: 0 };
      this.open.set(file, entry);
    }
    clearTimeout(entry.idle);
    entry.users += 1;
    return entry.store;
  }

  release(file: string): void {
    const entry = this.open.get(file);
    if (!entry || --entry.users > 0) return;
    entry.idle = setTimeout(() => {
      if (entry.users > 0) return;
      this.open.delete(file);
      entry.store.close();
    }, this.idleCloseMs);
    entry.idle.unref();
  }

  /** Each open database: its file, its size on disk (with the write-ahead log) and its entities. */
  databases(): DatabaseReport[] {
    return [...this.open].map(([path, { store }]) => ({ path, bytes: sizeOf(path) + sizeOf(`${path}-wal`), ...countOf(store) }));
  }

  closeAll(): void {
    for (const entry of this.open.values()) {
      clearTimeout(entry.idle);
      entry.store.close();
    }
    this.open.clear();
  }
}

function sizeOf(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** A status report never fails for one database: a count it cannot take is left out. */
function countOf(store: KnowledgeGraphStore): { entities?: number } {
  try {
    return { entities: store.entityCount() };
  } catch {
    return {};
  }
}
