import { spawn, type ChildProcess } from "node:child_process";
import { isAbsolute, join } from "node:path";
import type { Stream } from "node:stream";
import type { ServerConfig } from "../config/server-config.js";
import { serverSpec } from "../daemon/child-connection.js";
import { firstChildCwd } from "../daemon/scope-pool.js";
import { processStarted } from "../process/process-identity.js";
import { killTree } from "../process/terminate.js";
import { namedProjectDir } from "../protocol/project-path.js";
import { LearnedTraits } from "../daemon/learned-traits.js";
import { ChildRegistry } from "./child-registry.js";
import type { HandedChild } from "./kept-entry.js";
import { sharedEnvironment } from "./spawn-detached.js";

/** Stops the processes handed to daemons that have not come up yet: run when this process exits. */
const untaken = new Set<() => void>();
process.on("exit", () => {
  for (const discard of untaken) discard();
});

/** A server process spawned ahead of its daemon, until the daemon has it. */
export interface FirstChild {
  handed: HandedChild;
  /** Its stdin, stdout and stderr, which the daemon gets as fds 3, 4 and 5. */
  streams: Stream[];
  /**
   * The daemon has the streams: our copies are closed, and the process no longer keeps us running. Should we exit
   * before `taken()` (a client that gave up on a slow start), it is stopped: the daemon may be failing, and a
   * daemon that does come up starts another when a session needs one.
   */
  handedOver(): void;
  /** The daemon came up: the process is its own now. */
  taken(): void;
  /** The daemon never came up to take it: it is stopped with its process group. */
  discard(): void;
}

/**
 * The first server process of a stdio server's daemon, spawned by the starter just before it spawns the daemon,
 * which takes it over (daemon/adopted-child.ts). A session that has to start the daemon then waits for the
 * longer of the two starts, not for both in a row: Node's own start (100+ ms on a small machine) came before the
 * server's. Spawned as the daemon would spawn it, in the same environment and directory (`spec`); the daemon takes
 * it as its spare for the first session only when it would start exactly that, and stops it otherwise.
 * Undefined where the directory cannot be told ahead, on Windows, or when the spawn fails (the daemon then
 * starts the server itself, and reports what fails).
 */
export function spawnFirstChild(server: ServerConfig, project: string | undefined, home: string): FirstChild | undefined {
  if (process.platform === "win32" || server.kind !== "hosted") return undefined;
  // Where the daemon would run it, knowing what the daemon learned of the server.
  const asksClients = LearnedTraits.of(home, server.name, () => {}).asksClients;
  const cwd = firstChildCwd({ ...server, asksClients }, () => namedProjectDir(project));
  if (cwd === undefined || !isAbsolute(cwd)) return undefined;
  const spec = serverSpec(server, cwd);
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      cwd,
      env: sharedEnvironment(spec.env),
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      shell: false,
    });
  } catch {
    return undefined;
  }
  child.on("error", () => {}); // a command that cannot be started: the daemon tries again and reports it
  const { pid, stdin, stdout, stderr } = child;
  if (pid === undefined || !stdin || !stdout || !stderr) {
    child.kill("SIGKILL");
    return undefined;
  }
  const started = processStarted(pid);
  const discard = () => {
    if (child.exitCode === null && child.signalCode === null) killTree(pid);
  };
  try {
    // Recorded before the daemon exists: if it never comes up to take this process, nor we to stop it (killed
    // meanwhile), whoever starts or stops the next daemon stops it as a leftover.
    if (started !== undefined) ChildRegistry.recordAhead(join(home, `${server.name}.children`), { pid, started });
  } catch {
    killTree(pid); // not recorded: not handed over either
    return undefined;
  }
  return {
    handed: started === undefined ? { pid, spec } : { pid, started, spec },
    streams: [stdin, stdout, stderr],
    handedOver: () => {
      for (const stream of [stdin, stdout, stderr]) stream.destroy();
      child.unref(); // its exit is still collected while we run
      untaken.add(discard);
    },
    taken: () => untaken.delete(discard),
    discard: () => {
      untaken.delete(discard);
      discard();
    },
  };
}
