import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { within } from "./bounded.js";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { isProcessAlive } from "../../src/process/process-identity.js";
import { createServer } from "node:net";
import { onCleanup, type CleanupScope } from "./cleanup.js";

/** Kills a process and, when it leads one, its whole process group. Quiet if already gone. */
export function killTree(pid: number | undefined, signal: NodeJS.Signals = "SIGKILL"): void {
  if (!pid) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // not a group leader, or already gone
    }
  }
}

/** Running, and not a zombie (in this container nothing reaps orphans, so killed ones linger as zombies). */
export { isProcessAlive as isAlive } from "../../src/process/process-identity.js";

/**
 * Live processes whose command line (`/proc/PID/cmdline`) or environment (`/proc/PID/environ`, readable for our
 * own processes) satisfies `match`: how tests count daemons and find what a run left behind (Linux).
 */
export function processesMatching(match: (args: string[], environment: string[]) => boolean): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const read = (file: string) => {
      try {
        return readFileSync(`/proc/${entry}/${file}`, "utf8").split("\0");
      } catch {
        return []; // gone, or not ours to read
      }
    };
    if (match(read("cmdline"), read("environ")) && isProcessAlive(Number(entry))) found.push(Number(entry));
  }
  return found;
}

/** Processes started for one manager home: their environment names it. */
export const processesOfHome = (home: string, except: Set<number> = new Set()) =>
  processesMatching((_, environment) => environment.includes(`MCP_SESSION_MANAGER_HOME=${home}`)).filter((pid) => !except.has(pid));

/** Spawns a process that is killed (with its group) when the test ends, pass or fail. */
export function spawnTracked(t: CleanupScope, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], ...options });
  onCleanup(t, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killTree(child.pid);
    await once(child, "exit");
  });
  return child;
}

/** Waits until `predicate` holds for the text a stream has produced so far. */
export function waitForOutput(stream: NodeJS.ReadableStream, predicate: (text: string) => boolean, what: string): Promise<string> {
  let stop = () => {};
  const found = new Promise<string>((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (predicate(text)) {
        stream.off("data", onData);
        stream.off("end", onEnd);
        resolve(text);
      }
    };
    const onEnd = () => reject(new Error(`stream ended before ${what}; output was:\n${text}`));
    stream.on("data", onData);
    stream.on("end", onEnd);
    stop = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
    };
  });
  return within(found, what).finally(stop);
}

/**
 * Where test ports are picked: below the range the OS hands out itself (32768 - 60999 on Linux, 49152 and up on
 * macOS), from which daemons listening on port 0 and every outgoing connection get theirs. A port the OS had
 * picked could be handed to another test's listener moments later (two test files run at once); one picked at
 * random here is taken by another test file only if it picks the same.
 */
const PORTS_FROM = 20_000;
const PORTS_TO = 32_000;

/** A port nothing listens on right now, picked at random below the OS's own range. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORTS_FROM + Math.floor(Math.random() * (PORTS_TO - PORTS_FROM));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${PORTS_FROM} and ${PORTS_TO} in 100 tries`);
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const listening = new Promise<boolean>((resolve) => {
    server.once("listening", () => resolve(true));
    server.once("error", () => resolve(false));
  });
  server.listen(port, "127.0.0.1");
  if (!(await listening)) return false;
  server.close();
  await once(server, "close");
  return true;
}

/** Resolves when the process exits, with its code or signal. */
export async function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}
