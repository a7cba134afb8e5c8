import { existsSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { replaceFile } from "../files/replace-file.js";
import { isSameProcess, processStarted } from "../process/process-identity.js";
import { groupRuns, killTree } from "../process/terminate.js";

interface Recorded {
  pid: number;
  /** When the process started, as the system tells it: a recycled pid has another. */
  started: string;
}

/**
 * The server processes a daemon runs, recorded so that none outlives it unnoticed: a daemon killed outright
 * (SIGKILL, OOM) cannot stop its children, and a server that ignores the end of its stdin would then run on,
 * holding its files and ports. Each daemon keeps its own list, `<home>/<name>.children.<pid>-<start>`, so two
 * daemons of one server (one draining while the next serves, or one started while the other's lock was
 * missing) never take each other's children for leftovers; `<home>/<name>.children` holds what starters record
 * ahead of a daemon that does not exist yet. What a list names is stopped once its owner is gone.
 */
export class ChildRegistry {
  private readonly children = new Map<number, Recorded>();
  private readonly file: string;

  /** `base` is `<home>/<name>.children`. */
  constructor(
    private readonly base: string,
    private readonly log: (line: string) => void,
  ) {
    this.file = `${base}.${process.pid}-${encodeURIComponent(processStarted(process.pid) ?? "")}`;
  }

  /**
   * Taken by a starting daemon: stops what earlier daemons that are gone left running, and what starters
   * recorded ahead that no daemon took. A process handed to us by our starter (first-child.ts) is ours from now on.
   */
  start(kept?: { pid: number; started?: string }): void {
    reap(this.base, this.log, kept?.pid);
    this.reapDrained();
    if (kept?.started !== undefined) this.children.set(kept.pid, { pid: kept.pid, started: kept.started });
    this.save(); // before the record made ahead goes: the handed process is in one list or the other throughout
    removeFile(this.base);
  }

  /**
   * Records, beside what is recorded already, a process started for the daemon about to start: should the daemon
   * never come up to take it, whoever starts or stops the next one stops it as a leftover.
   */
  static recordAhead(base: string, child: Recorded): void {
    // What no longer runs is dropped: daemons failing at start-up, each handed a process, must not grow the list.
    const running = readRecorded(base).filter((recorded) => isSameProcess(recorded.pid, recorded.started));
    replaceFile(base, JSON.stringify([...running, child]));
  }

  /** For whoever stopped a daemon: stops what it, or any daemon of this server that is gone, left running. */
  static reapAfterStop(base: string): void {
    reap(base, () => {});
    removeFile(base);
    ChildRegistry.reapOwnersGone(base);
  }

  /**
   * Stops, for each list of this server's daemons whose owner is gone (but `own`), what it names, and removes the
   * list; what starters recorded ahead is left alone.
   */
  static reapOwnersGone(base: string, log: (line: string) => void = () => {}, own?: string): void {
    for (const file of listsOfGoneOwners(base)) {
      if (file === own) continue;
      reap(file, log);
      removeFile(file);
    }
  }

  /** Whether `pid` is a server a daemon of this server that is gone left running (its list names it, same start). */
  static leftBehind(base: string, pid: number): boolean {
    return listsOfGoneOwners(base).some((file) =>
      readRecorded(file).some((child) => child.pid === pid && isSameProcess(pid, child.started)),
    );
  }

  /** Stops what the daemons of this server that are gone left running (a drained one killed past its timeout, say). */
  reapDrained(): void {
    ChildRegistry.reapOwnersGone(this.base, this.log, this.file);
  }

  add(pid: number): void {
    const started = processStarted(pid);
    // A spare taken by its first session is added again: the file already says so.
    if (started === undefined || this.children.get(pid)?.started === started) return;
    this.children.set(pid, { pid, started });
    this.save();
  }

  remove(pid: number): void {
    if (this.children.delete(pid)) this.save();
  }

  /** Puts the list back if it was removed (the home cleared by hand): a daemon killed later must not leave its children unknown. */
  keep(): void {
    if (!existsSync(this.file)) this.save();
  }

  /** This daemon stopped its children: its list goes. */
  clear(): void {
    removeFile(this.file);
  }

  private save(): void {
    replaceFile(this.file, JSON.stringify([...this.children.values()]));
  }
}

/**
 * Stops the process groups of what a list names. A pid that names another process now is never taken for the
 * recorded one; a server that is gone (it died with its daemon, of a broken pipe) may have left what it started
 * running in its group, whose number is not given to a new process while any member lives.
 */
function reap(file: string, log: (line: string) => void, except?: number): void {
  for (const child of readRecorded(file)) {
    const now = processStarted(child.pid);
    if (child.pid === except || (now !== undefined && now !== child.started) || !groupRuns(child.pid)) continue;
    if (isSameProcess(child.pid, child.started)) log(`stopping child ${child.pid} left running by a previous daemon`);
    else log(`stopping what child ${child.pid}, gone with a previous daemon, left running in its process group`);
    killTree(child.pid);
  }
}

/** The lists `<base>.<pid>-<start>` of this server's daemons whose owner is no longer running. */
function listsOfGoneOwners(base: string): string[] {
  const prefix = `${basename(base)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(base)).filter((name) => name.startsWith(prefix));
  } catch {
    return [];
  }
  return names
    .filter((name) => {
      const owner = /^(\d+)-(.*)$/.exec(name.slice(prefix.length));
      return owner !== null && !isSameProcess(Number(owner[1]), decodeURIComponent(owner[2]!) || undefined);
    })
    .map((name) => join(dirname(base), name));
}

function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // not there
  }
}

/** What a list records; none when it is missing or unreadable (nothing we could safely stop). */
function readRecorded(file: string): Recorded[] {
  try {
    const recorded = JSON.parse(readFileSync(file, "utf8")) as unknown;
    return Array.isArray(recorded)
      ? (recorded as Recorded[]).filter((child) => typeof child?.pid === "number" && typeof child.started === "string")
      : [];
  } catch {
    return [];
  }
}
