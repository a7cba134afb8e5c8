import { ChangedMeanwhile, backUp, readText, writeTextAtomically } from "./atomic-file.js";
import { clientFile, clientFiles, type ClientFile, type ClientName, type InstallScope } from "./client-locations.js";
import { describeCommand, judgeEntry, type ClientServerEntry } from "./client-entry.js";
import { ConfigEditor } from "./config-editor.js";
import { allRecords, loadRecord, removeRecord, saveRecord, type InstallRecord } from "./install-record.js";
import { planMemoryImport, type MemoryImport } from "./memory-import.js";
import { portableProxyEntry, proxyEntry, type ProxyEntry } from "../runtime/proxy-entry.js";
import { findCommand } from "../process/find-command.js";
import { configPath, homeDir } from "../config/paths.js";
import { JsonServers, TomlServers, type ServersDocument } from "./servers-document.js";
import { dirname, join } from "node:path";

export interface InstallOptions {
  client: ClientName;
  /** One scope, or (undefined) every place the client keeps servers: see clientFiles. */
  scope: InstallScope | undefined;
  /** The project for the local and project scopes (default: every local project, and the working directory). */
  projectDir: string | undefined;
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
  return clientFiles(options.client, options.scope, options.projectDir)
    .map((file) => retryOnChange(() => installOnce(file, options)))
    .join("");
}

/** Which file, and where in it, for people: `claude-code (local /work/app) /home/me/.claude.json`. */
const headerOf = (file: ClientFile) => `${file.client} (${file.scope}${file.scope === "local" ? ` ${file.project}` : ""}) ${file.path}`;

function installOnce(file: ClientFile, options: InstallOptions): string {
  const read = readText(file.path);
  const header = headerOf(file);
  if (!read.exists) return `${header}: no such file; nothing to install\n`;
  const doc = openServers(file, read.text);
  const entries = doc.entries();
  const config = new ConfigEditor(options.configFile);
  const lines: string[] = [];
  const record: InstallRecord = loadRecord(options.home, file) ?? {
    client: file.client,
    scope: file.scope,
    file: file.path,
    ...(file.project ? { project: file.project } : {}),
    entries: {},
    backups: [],
  };
  const planned: Array<{ name: string; target: string; type?: string }> = [];
  const imported: string[] = [];
  const memoryImports: MemoryImport[] = [];
  const memoryNames = new Set<string>();

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
    const type = (entry as { type?: unknown }).type;
    if (verdict.kind === "memory") {
      // The official server's graph moves into the database this entry's sessions will use, once, with the entry.
      const plan = planMemoryImport(entry as ClientServerEntry, file);
      if ("error" in plan) {
        lines.push(`    ${name}: left alone (the official memory server; ${plan.error})`);
        continue;
      }
      const target = config.builtinMemory();
      if (plan.memoryImport) memoryImports.push(plan.memoryImport);
      planned.push({ name, target, ...(type !== undefined ? { type: "stdio" } : {}) });
      memoryNames.add(name);
      lines.push(`  ~ ${name}: the official memory server  ->  mcp-proxy --target ${target} (built in)`, `      ${plan.summary}`);
      continue;
    }
    const placed = config.place(name, options.client, verdict.server);
    if (placed.added) imported.push(placed.name === name ? name : `${name} (as ${placed.name}: that name was taken)`);
    // VS Code and Claude Code accept an explicit type: keep saying "stdio" where the entry had a type.
    planned.push({ name, target: placed.name, ...(type !== undefined ? { type: "stdio" } : {}) });
    lines.push(`  ~ ${name}: ${describeCommand(verdict.server)}  ->  mcp-proxy --target ${placed.name}`);
  }

  const summary = [header, ...(lines.length ? lines : ["    (no servers in this file)"])];
  if (imported.length)
    summary.push(`${options.dryRun ? "would be imported" : "imported"} into ${options.configFile}: ${imported.join(", ")}`);
  if (!planned.length) return [...summary, "nothing to change"].join("\n") + "\n";
  if (options.dryRun) return [...summary, "dry run: nothing was written"].join("\n") + "\n";

  // A file in the project travels to other machines (teams commit it): it names mcp-proxy, not this machine's paths.
  const portable = file.scope === "project";
  const launch = (target: string): ProxyEntry => (portable ? portableProxyEntry(target) : proxyEntry(target, options.configFile));
  for (const { name, target, type } of planned) {
    const original = doc.raw(name)!;
    doc.rewrite(name, { ...(type ? { type } : {}), ...launch(target) });
    record.entries[name] = { original, installed: doc.raw(name)!, target, ...(memoryNames.has(name) ? { officialMemory: true } : {}) };
  }
  // Imports first: one that fails leaves the client file, the config and every other import as they were.
  const importReports = memoryImports.map((memoryImport) => memoryImport.run());
  const backup = backUp(file.path, join(options.home, "backups"), `${file.client}-${file.scope}`);
  config.save();
  writeTextAtomically(file.path, doc.text, read.version);
  record.backups.push(backup);
  saveRecord(options.home, file, record);
  summary.push(
    ...importReports,
    `backup of the previous file: ${backup}`,
    `undo with: mcp-manager uninstall --client ${options.client}${scopeFlags(file)}`,
  );
  if (portable) summary.push(...portableNote(options.configFile));
  if (options.client === "claude-code" || options.client === "claude-desktop" || options.client === "cursor")
    summary.push("restart the client (or its MCP servers) to use the new entries");
  return summary.join("\n") + "\n";
}

/** `mcp-manager uninstall --client X`: puts back every entry install rewrote, exactly as it was. */
export function uninstall(options: Omit<InstallOptions, "configFile">): string {
  return clientFiles(options.client, options.scope, options.projectDir)
    .map((file) => retryOnChange(() => uninstallOnce(file, options)))
    .join("");
}

function uninstallOnce(file: ClientFile, options: { home: string; dryRun: boolean }): string {
  const header = headerOf(file);
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
      if (entry.officialMemory)
        lines.push(
          "      what was remembered since install is in the built-in memory's databases, not in the official server's file; " +
            "to take it back: mcp-manager memory export FILE [--project DIR]",
        );
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

/** The flags that name this file again (for the undo line). */
function scopeFlags(file: ClientFile): string {
  if (file.scope === "user") return "";
  return ` --scope ${file.scope}${file.scope === "local" ? ` --project ${JSON.stringify(file.project)}` : ""}`;
}

/** What a project file's plain `mcp-proxy` entries rely on, said when this machine does not provide it. */
function portableNote(configFile: string): string[] {
  const notes: string[] = [];
  if (!findCommand("mcp-proxy"))
    notes.push("note: mcp-proxy is not on PATH here; these entries start once the package is installed globally (npm install -g)");
  if (configFile !== configPath() || process.env.MCP_SESSION_MANAGER_HOME)
    notes.push(`note: the entries name no config or home, so they use the default ones, not ${configFile} (${homeDir()})`);
  return notes;
}

/** The client file an install record was made for, where that client keeps it now. */
export function fileOfRecord(record: InstallRecord): ClientFile {
  const client = record.client as ClientName;
  const scope = record.scope as InstallScope;
  // Project files sit in the project (.mcp.json) or one directory below it (.cursor/, .vscode/).
  const project = record.project ?? (client === "claude-code" ? dirname(record.file) : dirname(dirname(record.file)));
  return { ...clientFile(client, scope, project), path: record.file };
}

/** `uninstall --all`: every file install ever wrote for this home, put back. */
export function uninstallEverywhere(home: string, dryRun: boolean): string {
  const records = allRecords(home);
  if (!records.length) return "no client file was changed by mcp-manager install\n";
  return records.map((record) => retryOnChange(() => uninstallOnce(fileOfRecord(record), { home, dryRun }))).join("");
}

/** The entries of a client file that launch mcp-proxy (hand-made ones included); none when there is no file. */
export function entriesThroughProxy(file: ClientFile): string[] {
  const read = readText(file.path);
  if (!read.exists) return [];
  const entries = openServers(file, read.text).entries();
  return Object.keys(entries).filter((name) => judgeEntry(entries[name]).kind === "ours");
}
