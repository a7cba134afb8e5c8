import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/** Variables that describe one client session; a daemon shared by many sessions must not inherit them. */
const SESSION_VARIABLES = ["CLAUDE_PROJECT_DIR", "CLAUDE_CODE_SESSION_ID", "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"];

export interface DetachedSpec {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  logFile: string;
}

/**
 * Starts a daemon in its own session and process group (setsid on POSIX), output appended to its log,
 * no shell, and unreferenced: no signal to the starter's group reaches it and the starter may exit.
 */
export function spawnDetached(spec: DetachedSpec): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...spec.env };
  for (const name of SESSION_VARIABLES) if (!(name in spec.env)) delete env[name];
  const log = openSync(spec.logFile, "a", 0o600);
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: ["ignore", log, log],
      windowsHide: true,
      shell: false,
    });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}
