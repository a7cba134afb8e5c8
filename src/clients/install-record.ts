import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { replaceFile } from "../files/replace-file.js";
import { join } from "node:path";
import type { ClientFile } from "./client-locations.js";

/** What one install changed in one client file, kept so uninstall can put every entry back as it was. */
export interface InstallRecord {
  client: string;
  scope: string;
  file: string;
  /** The project of a local or project scope install (records without it: derived from the file's path). */
  project?: string;
  /** `officialMemory`: the entry ran the official memory server, replaced by the built-in one. */
  entries: Record<string, { original: string; installed: string; target: string; officialMemory?: boolean }>;
  backups: string[];
}

export const installsDir = (home: string) => join(home, "installs");

function recordPath(home: string, file: ClientFile): string {
  // Claude Code keeps every project's local servers in one file: each project has a record of its own.
  const where = file.scope === "local" ? `${file.path}\0${file.project}` : file.path;
  const hash = createHash("sha256").update(where).digest("hex").slice(0, 12);
  return join(installsDir(home), `${file.client}-${file.scope}-${hash}.json`);
}

export function loadRecord(home: string, file: ClientFile): InstallRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(home, file), "utf8")) as InstallRecord;
  } catch {
    return undefined;
  }
}

export function saveRecord(home: string, file: ClientFile, record: InstallRecord): void {
  mkdirSync(installsDir(home), { recursive: true, mode: 0o700 });
  replaceFile(recordPath(home, file), JSON.stringify(record, null, 2));
}

export function removeRecord(home: string, file: ClientFile): void {
  try {
    unlinkSync(recordPath(home, file));
  } catch {
    // none
  }
}

/** Every install record of this home, for `uninstall --all`. */
export function allRecords(home: string): InstallRecord[] {
  let names: string[];
  try {
    names = readdirSync(installsDir(home)).filter((name) => name.endsWith(".json"));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      return [JSON.parse(readFileSync(join(installsDir(home), name), "utf8")) as InstallRecord];
    } catch {
      return [];
    }
  });
}
