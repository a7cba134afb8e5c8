import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { isSameProcess } from "./process-identity.js";

export interface TerminateOptions {
  /** How long the process may take to exit after the polite signal before its whole group is killed. */
  graceMs: number;
  /**
   * `group`: the polite signal goes to the whole process group (a server and what its wrapper started).
   * `leader`: only to the process, which stops its own children in order (our daemons); the group is killed
   * only if the grace period runs out, and after the exit whatever the group still holds.
   */
  politeTo: "group" | "leader";
  /** The process's start time (process-identity): a pid recycled meanwhile is never signalled as ours. */
  started?: string;
  /** Settles when the process has exited, where the caller can tell (its ChildProcess 'exit'); else polled. */
  exited?: Promise<unknown>;
  /** Closed first, when the process reads it: many servers exit on the end of their input. */
  stdin?: NodeJS.WritableStream;
}

const POLL_MS = 20;
/** A process that outlives SIGKILL this long is stuck in the kernel (uninterruptible I/O): we stop waiting. */
const AFTER_KILL_MS = 5000;

/**
 * Ends a process and its process group: stdin closed, SIGTERM, SIGKILL to the group after the grace period,
 * then waits for the exit; a group asked as a whole gets SIGKILL again for grandchildren that outlived it.
 * On Windows `taskkill /T` ends the tree. Resolves once the process is gone; false if it never went.
 */
export async function terminate(pid: number, options: TerminateOptions): Promise<boolean> {
  const alive = () => isSameProcess(pid, options.started);
  if (!alive()) return true;
  const exitWithin = (ms: number) => (options.exited ? settlesWithin(options.exited, ms) : pollUntilGone(alive, ms));
  options.stdin?.end();
  if (options.politeTo === "group") signalGroup(pid, "SIGTERM");
  else signalProcess(pid, "SIGTERM");
  if (await exitWithin(options.graceMs)) {
    // A group that was asked as a whole may leave grandchildren that outlived their parent; a leader that exited
    // in time has stopped its own children, and its group may hold others' processes (a shell's job).
    if (options.politeTo === "group") signalGroup(pid, "SIGKILL");
    return true;
  }
  killTree(pid);
  return exitWithin(AFTER_KILL_MS);
}

/**
 * Ends what a process group still holds once its leader is gone: a server that exited or crashed may leave what
 * it started (a browser, a language server) running in its group. SIGTERM, then SIGKILL after `graceMs`. While
 * any member lives the group's number cannot be given to a new process, so the group is still the leader's.
 * Nothing to do on Windows, where a tree is not a group.
 */
export async function endGroupRemnants(pid: number, graceMs: number): Promise<void> {
  if (process.platform === "win32" || !groupRuns(pid)) return;
  signalGroup(pid, "SIGTERM");
  if (!(await pollUntilGone(() => groupRuns(pid), graceMs))) signalGroup(pid, "SIGKILL");
}

/** Whether any process is left in the process group `pid` leads or led (on Windows: whether `pid` runs). */
export function groupRuns(pid: number): boolean {
  try {
    process.kill(process.platform === "win32" ? pid : -pid, 0);
    return true;
  } catch {
    return false; // none left, or none we may signal
  }
}

/** Kills a process group at once (a hung daemon, leftovers of a killed one). False when it is gone. */
export function killTree(pid: number): boolean {
  if (process.platform === "win32") {
    execFile("taskkill", ["/T", "/F", "/PID", String(pid)], () => {});
    return true;
  }
  return signalGroup(pid, "SIGKILL");
}

/** Signals a whole process group (a detached daemon and everything it spawned); false when it is gone. */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  return signalProcess(process.platform === "win32" ? pid : -pid, signal);
}

function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

async function pollUntilGone(alive: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive()) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
