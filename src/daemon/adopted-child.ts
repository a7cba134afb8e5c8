import { closeSync, fstatSync } from "node:fs";
import net from "node:net";
import { isSameProcess, stillRunning } from "../process/process-identity.js";
import { killTree, terminate } from "../process/terminate.js";
import type { HandedChild } from "../runtime/kept-entry.js";
import type { ChildConnection, ChildSpec } from "./child-connection.js";
import { STOP_GRACE_MS, StdioChild, type ServerProcess } from "./stdio-child.js";

/** Where the starter put the server's stdin, stdout and stderr (runtime/first-child.ts). */
const HANDED_FDS = [3, 4, 5] as const;
/**
 * A handed server is not our child, so no exit event tells us it is gone; its output closing is the usual sign.
 * While that output is open it is looked at this seldom: it lives as long as the daemon, and a shorter period
 * would wake the daemon all day for the rare server that dies while a process it started holds its output.
 */
const LIVENESS_MS = 2000;
/** Once its output has closed it is on its way out: looked at this often for a second, then every CLOSED_MS. */
const EXITING_MS = 20;
const EXITING_FOR_MS = 1000;
const CLOSED_MS = 250;

/**
 * The server process the daemon's starter spawned ahead (runtime/first-child.ts), its stdio at fds 3-5, held
 * until the daemon takes it or stops it. Until then, a daemon that exits (a start that fails) kills it: nobody
 * else would, once its starter is gone too.
 */
export class HeldChild {
  private readonly guard = () => {
    if (isSameProcess(this.handed.pid, this.handed.started)) killTree(this.handed.pid);
  };

  constructor(private readonly handed: HandedChild) {
    process.once("exit", this.guard);
  }

  get pid(): number {
    return this.handed.pid;
  }

  get spec(): ChildSpec {
    return this.handed.spec;
  }

  /**
   * Takes it as a child like any other to the daemon core, except that its exit is noticed by looking (its parent
   * is the starter, which collects its exit status; its pid and start time name it). Undefined, the process
   * stopped, when the fds are not what the starter said.
   */
  async take(log: (line: string) => void): Promise<ChildConnection | undefined> {
    if (!HANDED_FDS.every(isStream)) {
      await this.stop(log, "its stdio was not handed over at fds 3-5");
      return undefined;
    }
    process.off("exit", this.guard);
    return new StdioChild(handedProcess(this.handed), log);
  }

  /**
   * Closes the handed fds and stops the process at once (it was told nothing), resolving once it is gone, so that
   * what replaces it does not meet it on a port or a lock file of its own.
   */
  async stop(log: (line: string) => void, why: string): Promise<void> {
    for (const fd of HANDED_FDS) {
      try {
        closeSync(fd);
      } catch {
        // not open: nothing to close
      }
    }
    log(`stopping child pid ${this.handed.pid}, started ahead by this daemon's starter: ${why}`);
    const { started } = this.handed;
    await terminate(this.handed.pid, { graceMs: 0, politeTo: "group", ...(started ? { started } : {}) });
    process.off("exit", this.guard);
  }
}

function handedProcess(handed: HandedChild): ServerProcess {
  const [stdinFd, stdoutFd, stderrFd] = HANDED_FDS;
  const stdin = new net.Socket({ fd: stdinFd, readable: false, writable: true });
  const stdout = new net.Socket({ fd: stdoutFd, readable: true, writable: false });
  const stderr = new net.Socket({ fd: stderrFd, readable: true, writable: false });
  const gone = new Promise<string>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const lookEvery = (ms: number) => {
      clearInterval(timer);
      timer = setInterval(() => {
        if (stillRunning(handed.pid, handed.started)) return;
        clearInterval(timer);
        resolve("exited (its exit status went to the process that started it)");
      }, ms);
      timer.unref();
    };
    lookEvery(LIVENESS_MS);
    stdout.once("close", () => {
      lookEvery(EXITING_MS);
      setTimeout(() => lookEvery(CLOSED_MS), EXITING_FOR_MS).unref();
    });
  });
  return {
    pid: handed.pid,
    stdin,
    stdout,
    stderr,
    gone,
    stop: async () => {
      if (!stillRunning(handed.pid, handed.started)) return;
      const started = handed.started ? { started: handed.started } : {};
      await terminate(handed.pid, { graceMs: STOP_GRACE_MS, politeTo: "group", exited: gone, stdin, ...started });
    },
  };
}

function isStream(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
