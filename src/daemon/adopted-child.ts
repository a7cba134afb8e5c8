import { closeSync, fstatSync } from "node:fs";
import net from "node:net";
import { isSameProcess } from "../process/process-identity.js";
import { terminate } from "../process/terminate.js";
import type { HandedChild } from "../runtime/kept-entry.js";
import type { ChildConnection } from "./child-connection.js";
import { STOP_GRACE_MS, StdioChild, type ServerProcess } from "./stdio-child.js";

/** Where the starter put the server's stdin, stdout and stderr (runtime/first-child.ts). */
const HANDED_FDS = [3, 4, 5] as const;
/** How often a handed server is looked at: it is not our child, so no exit event tells us it is gone. */
const LIVENESS_MS = 250;
/** Once its output has closed, it is on its way out: looked at this often until it is gone. */
const EXITING_MS = 20;

/**
 * The server process the daemon's starter spawned ahead (runtime/first-child.ts), its stdio at fds 3-5: a child
 * like any other to the daemon core, except that its exit is noticed by looking (its parent is the starter, which
 * collects its exit status; its pid and start time name it). Undefined, with the fds closed and the process
 * stopped, when the fds are not what the starter said (then nothing of it can be used).
 */
export function adoptHandedChild(handed: HandedChild, log: (line: string) => void): ChildConnection | undefined {
  if (!HANDED_FDS.every(isStream)) {
    log(`the child pid ${handed.pid} its starter handed over has no stdio at fds 3-5; stopping it`);
    discardHandedChild(handed, log, "its stdio was not handed over");
    return undefined;
  }
  return new StdioChild(handedProcess(handed), log);
}

/** Closes the handed fds and stops the process: the daemon does not start what it was started as. */
export function discardHandedChild(handed: HandedChild, log: (line: string) => void, why: string): void {
  for (const fd of HANDED_FDS) {
    try {
      closeSync(fd);
    } catch {
      // not open: nothing to close
    }
  }
  log(`stopping child pid ${handed.pid}, started ahead by this daemon's starter: ${why}`);
  void terminate(handed.pid, { graceMs: STOP_GRACE_MS, politeTo: "group", ...(handed.started ? { started: handed.started } : {}) });
}

function handedProcess(handed: HandedChild): ServerProcess {
  const [stdinFd, stdoutFd, stderrFd] = HANDED_FDS;
  const stdin = new net.Socket({ fd: stdinFd, readable: false, writable: true });
  const stdout = new net.Socket({ fd: stdoutFd, readable: true, writable: false });
  const stderr = new net.Socket({ fd: stderrFd, readable: true, writable: false });
  const running = () => isSameProcess(handed.pid, handed.started);
  const gone = new Promise<string>((resolve) => {
    let timer: NodeJS.Timeout;
    const look = (every: number) => {
      clearInterval(timer);
      timer = setInterval(() => {
        if (running()) return;
        clearInterval(timer);
        resolve("exited (its exit status went to the process that started it)");
      }, every);
      timer.unref();
    };
    look(LIVENESS_MS);
    stdout.once("close", () => look(EXITING_MS));
  });
  return {
    pid: handed.pid,
    stdin,
    stdout,
    stderr,
    gone,
    stop: async () => {
      if (!running()) return;
      await terminate(handed.pid, {
        graceMs: STOP_GRACE_MS,
        politeTo: "group",
        exited: gone,
        stdin,
        ...(handed.started ? { started: handed.started } : {}),
      });
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
