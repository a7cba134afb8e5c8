import { ChangedMeanwhile, backUp, readText, writeTextAtomically } from "./atomic-file.js";
import { clientFile, type ClientFile, type ClientName, type InstallScope } from "./client-locations.js";
import { describeCommand, judgeEntry } from "./client-entry.js";
import { ConfigEditor } from "./config-editor.js";
import { loadRecord, removeRecord, saveRecord, type InstallRecord } from "./install-record.js";
import { proxyEntry } from "../runtime/proxy-entry.js";
import { JsonServers, TomlServers, type ServersDocument } from "./servers-document.js";
import { join } from "node:path";

export interface InstallOptions {
  client: ClientName;
  scope: InstallScope;
  /** The project directory for `--scope project` (default: the working directory). */
  projectDir: string;
  dryRun: boolean;
  /** Route HTTP servers the client reaches directly through mcp-proxy too. */
  http?: boolean;
  /** Our home and config file. */
  home: string;
  configFile: string;
}

/** The client rereads or rewrites its file itself now and then: try again on a fresh read this many times. */
const ATTEMPTS = 3;

/**
 * `mcp-manager install --client X`: imports the client's stdio servers into our config and rewrites its entries
 * to go through mcp-proxy. The client file is backed up first (into `<home>/backups/`), written atomically and
 * only if nobody wrote it meanwhile; everything else in it stays byte for byte. Running it again changes nothing.
 * Returns the summary for people.
 */
export function install(options: InstallOptions): string {
  const file = clientFile(options.client, options.scope, options.projectDir);
  return retryOnChange(() => installOnce(file, options));
}

function installOnce(file: ClientFile, options: InstallOptions): string {
  const read = readText(file.path);
  const header = `${options.client} (${options.scope}) ${file.path}`;
  if (!read.exists) return `${header}: no such file; nothing to install\n`;
  const doc = openServers(file, read.text);
  const entries = doc.entries();
  const config = new ConfigEditor(options.configFile);
  const lines: string[] = [];
  const record: InstallRecord = loadRecord(options.home, file) ?? {
    client: file.client,
    scope: file.scope,
    file: file.path,
    entries: {},
    backups: [],
  };
  const planned: Array<{ name: string; target: string; type?: string }> = [];
  const imported: string[] = [];

  for (const [name, entry] of Object.entries(entries)) {
    const verdict = judgeEntry(entry, { http: Boolean(options.http) });
    if (verdict.kind === "ours") {
      lines.push(`  = ${name}: already through mcp-proxy (--target ${verdict.target})`);
      continue;
    }
    if (verdict.kind === "leave") {
      lines.push(`    ${name}: left alone (${verdict.why})`);
      continue;
    }
    const blocked = doc.cannotRewrite(name);
    if (blocked) {
      lines.push(`    ${name}: left alone (${blocked})`);
      continue;
    }
    const placed = config.place(name, options.client, verdict.server);
    if (placed.added) imported.push(placed.name === name ? name : `${name} (as ${placed.name}: that name was taken)`);
    // VS Code and Claude Code accept an explicit type: keep saying "stdio" where the entry had a type.
    const type = (entry as { type?: unknown }).type;
    planned.push({ name, target: placed.name, ...(type !== undefined ? { type: "stdio" } : {}) });
    lines.push(`  ~ ${name}: ${describeCommand(verdict.server)}  ->  mcp-proxy --target ${placed.name}`);
  }

  const summary = [header, ...(lines.length ? lines : ["    (no servers in this file)"])];
  if (imported.length) summary.push(`imported into ${options.configFile}: ${imported.join(", ")}`);
  if (!planned.length) return [...summary, "nothing to change"].join("\n") + "\n";
  if (options.dryRun) return [...summary, "dry run: nothing was written"].join("\n") + "\n";

  for (const { name, target, type } of planned) {
    const original = doc.raw(name)!;
    doc.rewrite(name, { ...(type ? { type } : {}), ...proxyEntry(target, options.configFile) });
    record.entries[name] = { original, installed: doc.raw(name)!, target };
  }
  const backup = backUp(file.path, join(options.home, "backups"), `${file.client}-${file.scope}`);
  config.save();
  writeTextAtomically(file.path, doc.text, read.version);
  record.backups.push(backup);
  saveRecord(options.home, file, record);
  summary.push(
    `backup of the previous file: ${backup}`,
    `undo with: mcp-manager uninstall --client ${options.client}${options.scope === "project" ? " --scope project" : ""}`,
  );
  if (options.client === "claude-code" || options.client === "claude-desktop" || options.client === "cursor")
    summary.push("restart the client (or its MCP servers) to use the new entries");
  return summary.join("\n") + "\n";
}

/** `mcp-manager uninstall --client X`: puts back every entry install rewrote, exactly as it was. */
export function uninstall(options: Omit<InstallOptions, "configFile">): string {
  const file = clientFile(options.client, options.scope, options.projectDir);
  return retryOnChange(() => uninstallOnce(file, options));
}

function uninstallOnce(file: ClientFile, options: Omit<InstallOptions, "configFile">): string {
  const header = `${options.client} (${options.scope}) ${file.path}`;
  const record = loadRecord(options.home, file);
  if (!record || !Object.keys(record.entries).length) return `${header}: nothing was installed here by mcp-manager\n`;
  const read = readText(file.path);
  if (!read.exists) return `${header}: the file is gone; nothing to restore\n`;
  const doc = openServers(file, read.text);
  const lines: string[] = [];
  let restored = 0;
  for (const [name, entry] of Object.entries(record.entries)) {
    const current = doc.raw(name);
    if (current === undefined) lines.push(`    ${name}: no longer in the file; nothing to restore`);
    else if (current !== entry.installed) lines.push(`    ${name}: changed since install; left as it is now`);
    else {
      doc.restore(name, entry.original);
      restored += 1;
      lines.push(`  ~ ${name}: restored`);
    }
  }
  if (options.dryRun) return [header, ...lines, "dry run: nothing was written"].join("\n") + "\n";
  if (restored) writeTextAtomically(file.path, doc.text, read.version);
  removeRecord(options.home, file);
  return [header, ...lines, "the servers stay in mcp-session-manager's config (other clients may use them)"].join("\n") + "\n";
}

/** Runs an edit again on a fresh read when the client wrote its file in between (a few times at most). */
function retryOnChange(edit: () => string): string {
  for (let attempt = 1; ; attempt++) {
    try {
      return edit();
    } catch (error) {
      if (!(error instanceof ChangedMeanwhile) || attempt === ATTEMPTS) throw error;
    }
  }
}

function openServers(file: ClientFile, text: string): ServersDocument {
  return file.format === "toml" ? new TomlServers(text, file.path) : new JsonServers(text, file.path, file.serversKey);
}
