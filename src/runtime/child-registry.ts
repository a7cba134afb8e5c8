import { readFileSync, unlinkSync } from "node:fs";
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

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Stops the process groups a previous daemon recorded that still run (same pid, same start time). */
  reapLeftovers(): void {
    let recorded: Recorded[];
    try {
      recorded = JSON.parse(readFileSync(this.file, "utf8")) as Recorded[];
    } catch {
      return; // none recorded, or unreadable: nothing we could safely stop
    }
    for (const child of recorded) {
      if (typeof child.pid !== "number" || processStarted(child.pid) !== child.started) continue;
      this.log(`stopping child ${child.pid} left running by a previous daemon`);
      killTree(child.pid);
    }
    this.save();
  }

  add(pid: number): void {
    const started = processStarted(pid);
    if (started === undefined) return;
    this.children.set(pid, { pid, started });
    this.save();
  }

  remove(pid: number): void {
    if (this.children.delete(pid)) this.save();
  }

  clear(): void {
    try {
      unlinkSync(this.file);
    } catch {
      // not there
    }
  }

  private save(): void {
    replaceFile(this.file, JSON.stringify([...this.children.values()]));
  }
}
