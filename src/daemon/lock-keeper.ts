import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { claimLock, isHolderAlive, readLock, type LockRecord } from "../runtime/lock-file.js";

export interface LockKeeperEvents {
  /** The lock was gone and is back, naming this daemon. */
  restored(): void;
  /** Another live process holds the lock: a daemon started while ours was missing. This one should give way. */
  superseded(holder: LockRecord): void;
}

/**
 * Keeps a running daemon's lock in place. Users are known to clear `~/.mcp-session-manager/*.lock` while daemons
 * run; a starter that then finds no lock starts a second daemon of the same server, the very thing the lock is
 * for. So the lock is put back as soon as its removal is seen (a watch on the home, and `check()` called
 * periodically where watching fails), and a starter that was quicker makes this daemon give way to its own.
 */
export class LockKeeper {
  private watcher: FSWatcher | undefined;
  private gaveWay = false;

  constructor(
    private readonly lockFile: string,
    private readonly record: LockRecord,
    private readonly on: LockKeeperEvents,
  ) {}

  start(): void {
    try {
      this.watcher = watch(dirname(this.lockFile), (_event, file) => {
        if (file === basename(this.lockFile)) this.check();
      });
      // The home removed as a whole, or out of watches: the periodic check remains.
      this.watcher.on("error", () => this.watcher?.close());
      this.watcher.unref();
    } catch {
      // not watchable: the periodic check remains
    }
  }

  /** Puts the lock back when it is missing; tells when another live process holds it. */
  check(): void {
    if (this.gaveWay) return;
    let holder = readLock(this.lockFile);
    if (!holder) {
      if (claimLock(this.lockFile, this.record)) return this.on.restored();
      holder = readLock(this.lockFile); // a starter claimed it just now: whose it is decides
      if (!holder) return; // and removed it again: seen at the next change
    }
    // A torn file (pid 0) is a starter's claim being written, or garbage: looked at again on the next change.
    if (holder.pid === this.record.pid || holder.pid === 0 || !isHolderAlive(holder)) return;
    this.gaveWay = true;
    this.stop();
    this.on.superseded(holder);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
