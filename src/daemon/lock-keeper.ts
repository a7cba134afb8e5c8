import { existsSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { claimLock, isHolderAlive, readLock, removeStaleLock, type LockRecord } from "../runtime/lock-file.js";

/** How long after seeing its lock removed a daemon puts it back: a home being removed as a whole is gone by then. */
const RESTORE_AFTER_MS = 200;

export interface LockKeeperOptions {
  lockFile: string;
  /** The lock this daemon wrote once listening. */
  record: LockRecord;
  /** False once another daemon has bound one of our socket paths: it is the one starters find now. */
  addressesOurs: () => boolean;
  log: (line: string) => void;
  /** Another daemon of this server serves in our place: this one should give way. */
  superseded: (why: string) => void;
}

/**
 * Keeps a running daemon's lock in place. Users are known to clear `~/.mcp-session-manager/*.lock` while daemons
 * run; a starter that then finds no lock starts a second daemon of the same server, the very thing the lock is
 * for. So a removed lock is put back shortly after its removal is seen (a watch on the home; `check()` is also
 * called periodically, for where watching fails), and should another daemon have started meanwhile, this one
 * gives way to it.
 */
export class LockKeeper {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private gaveWay = false;

  constructor(private readonly options: LockKeeperOptions) {}

  start(): void {
    const { lockFile } = this.options;
    try {
      this.watcher = watch(dirname(lockFile), (_event, file) => {
        if (file !== basename(lockFile) || this.timer) return;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.check();
        }, RESTORE_AFTER_MS);
        this.timer.unref();
      });
      // The home removed as a whole, or out of watches: the periodic check remains.
      this.watcher.on("error", () => this.watcher?.close());
      this.watcher.unref();
    } catch {
      // not watchable: the periodic check remains
    }
  }

  /** Puts the lock back when it is missing; gives way when another daemon holds it. */
  check(): void {
    if (this.gaveWay) return;
    const why = this.supersededBy();
    if (why === undefined) return;
    this.gaveWay = true;
    this.stop();
    this.options.superseded(why);
  }

  /** Why this daemon should give way, if it should; puts the lock back meanwhile. Never throws. */
  private supersededBy(): string | undefined {
    const { lockFile, record, log } = this.options;
    try {
      // A home removed as a whole is made again by the housekeeping, with its token first.
      if (!existsSync(dirname(lockFile))) return undefined;
      if (!this.options.addressesOurs()) return "another daemon listens on this one's socket paths";
      let holder = readLock(lockFile);
      if (holder && holder.pid !== record.pid && holder.pid !== 0 && !isHolderAlive(holder)) {
        removeStaleLock(lockFile, holder); // a dead starter's claim, or a dead daemon's lock
        holder = readLock(lockFile);
      }
      if (!holder) {
        if (claimLock(lockFile, record)) {
          log(`lock ${lockFile} was removed; recreated it`);
          return undefined;
        }
        holder = readLock(lockFile); // a starter claimed it just now
      }
      // A starter's claim (no address yet) is looked at again once its daemon writes the lock, or fails to.
      if (!holder || holder.pid === record.pid || !holder.url || !isHolderAlive(holder)) return undefined;
      return `daemon pid ${holder.pid} took the lock while this one's was missing`;
    } catch (error) {
      log(`could not look after lock ${lockFile}: ${(error as Error).message}`);
      return undefined;
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }
}
