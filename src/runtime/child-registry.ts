import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { replaceFile } from "../files/replace-file.js";
import { processStarted } from "../process/process-identity.js";
import { killTree } from "../process/terminate.js";

interface Recorded {
  pid: number;
  /** When the process started, as the system tells it: a recycled pid has another. */
  started: string;
}

/**
 * The children a daemon runs, kept in `<home>/<name>.children`. A daemon killed outright (SIGKILL, OOM) cannot
 * stop its children, and a server that ignores the end of its stdin would then run on, holding its files and
 * ports. The next daemon for the same server stops such leftovers first.
 */
export class ChildRegistry {
  private readonly children = new Map<number, Recorded>();
  /** What this registry last wrote. */
  private saved: string | undefined;

  constructor(
    private file: string,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Stops the process groups a previous daemon recorded that still run (same pid, same start time). A daemon
   * that was draining when a new one started keeps its list aside (`<file>.<pid>-<start>`): its children are
   * its own while it runs, and leftovers only once it is gone.
   */
  reapLeftovers(kept?: { pid: number; started?: string }): void {
    this.reap(this.file, kept?.pid);
    this.reapDrained();
    // A process handed to us by our starter (first-child.ts) is ours from now on, and stays recorded.
    if (kept?.started !== undefined) this.children.set(kept.pid, { pid: kept.pid, started: kept.started });
    this.save();
  }

  /**
   * Records, beside what is recorded already, a process started for the daemon about to start: should the daemon
   * never come up to take it, whoever starts or stops the next one stops it as a leftover.
   */
  static recordAhead(file: string, child: { pid: number; started: string }): void {
    // What no longer runs is dropped: daemons failing at start-up, each handed a process, must not grow the list.
    const running = readRecorded(file).filter((recorded) => processStarted(recorded.pid) === recorded.started);
    replaceFile(file, JSON.stringify([...running, child]));
  }

  /** Stops what the drained daemons that are gone left running (their lists set aside); their own lists go too. */
  reapDrained(): void {
    const prefix = `${basename(this.file)}.`;
    let names: string[];
    try {
      names = readdirSync(dirname(this.file)).filter((name) => name.startsWith(prefix));
    } catch {
      names = [];
    }
    for (const name of names) {
      const owner = /^(\d+)-(.+)$/.exec(name.slice(prefix.length));
      if (owner && processStarted(Number(owner[1])) === decodeURIComponent(owner[2]!)) continue; // still draining
      this.reap(join(dirname(this.file), name));
      removeFile(join(dirname(this.file), name));
    }
  }

  /** This daemon drains while a new one takes its place: its list moves aside, out of the new one's way. */
  moveAside(): void {
    const aside = `${this.file}.${process.pid}-${encodeURIComponent(processStarted(process.pid) ?? "")}`;
    this.removeOwnFile();
    this.file = aside;
    this.save();
  }

  private reap(file: string, except?: number): void {
    for (const child of readRecorded(file)) {
      if (child.pid === except || processStarted(child.pid) !== child.started) continue;
      this.log(`stopping child ${child.pid} left running by a previous daemon`);
      killTree(child.pid);
    }
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

  clear(): void {
    this.removeOwnFile();
  }

  private save(): void {
    this.saved = JSON.stringify([...this.children.values()]);
    replaceFile(this.file, this.saved);
  }

  /** Removes the list unless another daemon has written its own there (one that took our place). */
  private removeOwnFile(): void {
    try {
      if (this.saved === undefined || readFileSync(this.file, "utf8") === this.saved) removeFile(this.file);
    } catch {
      // not there
    }
  }
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
    return Array.isArray(recorded) ? (recorded as Recorded[]).filter((child) => typeof child?.pid === "number") : [];
  } catch {
    return [];
  }
}
