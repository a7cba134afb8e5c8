import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Stream } from "node:stream";

/**
 * Variables that describe one client session; a daemon shared by many sessions, and its servers, must not inherit
 * them. `PWD` and `OLDPWD` are the directories of the shell that started the client: its project, most often.
 */
const SESSION_VARIABLES = ["CLAUDE_PROJECT_DIR", "CLAUDE_CODE_SESSION_ID", "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "PWD", "OLDPWD"];

export interface DetachedSpec {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  logFile: string;
  /** Streams it gets as file descriptors 3, 4, ... (a server spawned ahead for it: runtime/first-child.ts). */
  handOver?: Stream[];
}

/** The environment of a process every session shares: ours with `extra` on top, without what describes one session. */
export function sharedEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of SESSION_VARIABLES) if (!(name in extra)) delete env[name];
  return env;
}

/**
 * Starts a daemon in its own session and process group (setsid on POSIX), output appended to its log,
 * no shell, and unreferenced: no signal to the starter's group reaches it and the starter may exit.
 */
export function spawnDetached(spec: DetachedSpec): ChildProcess {
  const env = sharedEnvironment(spec.env);
  const log = openSync(spec.logFile, "a", 0o600);
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: ["ignore", log, log, ...(spec.handOver ?? [])],
      windowsHide: true,
      shell: false,
    });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}
