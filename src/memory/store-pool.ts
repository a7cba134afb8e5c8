import { accessSync, constants, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KnowledgeGraphStore } from "./store.js";

/**
 * Where a project's memory lives: `<project>/.claude/memory.db` when the request named a project whose
 * `.claude` directory we may write, else the global `~/.claude/memory.db`. Never anywhere else.
 */
export function databaseFor(projectPath: string | undefined, home = homedir()): string {
  if (projectPath) {
    const dir = join(projectPath, ".claude");
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      return join(dir, "memory.db");
    } catch {
      // a read-only project: the global database serves it
    }
  }
  const dir = join(home, ".claude");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, "memory.db");
}

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

  files(): string[] {
    return [...this.open.keys()];
  }

  closeAll(): void {
    for (const entry of this.open.values()) {
      clearTimeout(entry.idle);
      entry.store.close();
    }
    this.open.clear();
  }
}
