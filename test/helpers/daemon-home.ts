import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { EVERYTHING } from "./paths.js";
import { freePort, killTree } from "./processes.js";

export interface DaemonHome {
  home: string;
  env: NodeJS.ProcessEnv;
  port: number;
  /** The pid in `<home>/<name>.lock`, if any. */
  lockedPid(name?: string): number | undefined;
}

/**
 * A temporary manager home whose config has server-everything as the HTTP server "everything", started by
 * the proxy on demand. Every daemon the lock file ever named is killed (with its group) after the test.
 */
export async function everythingHome(t: TestContext, extra: Record<string, unknown> = {}): Promise<DaemonHome> {
  const home = mkdtempSync(join(tmpdir(), "msm-home-"));
  const port = await freePort();
  const config = {
    servers: {
      everything: {
        command: process.execPath,
        args: [EVERYTHING, "streamableHttp"],
        env: { PORT: String(port) },
        transport: "streamable-http",
        port,
      },
      ...extra,
    },
  };
  writeFileSync(join(home, "config.json"), JSON.stringify(config, null, 2));
  const seen = new Set<number>();
  const lockedPid = (name = "everything") => {
    try {
      const pid = (JSON.parse(readFileSync(join(home, `${name}.lock`), "utf8")) as { pid?: number }).pid;
      if (pid) seen.add(pid);
      return pid;
    } catch {
      return undefined;
    }
  };
  // One hook, in this order: the lock files name the daemons to kill, so read them before removing the home.
  t.after(() => {
    lockedPid();
    for (const name of Object.keys(extra)) lockedPid(name);
    for (const pid of seen) killTree(pid);
    rmSync(home, { recursive: true, force: true });
  });
  return { home, port, env: { ...process.env, MCP_SESSION_MANAGER_HOME: home }, lockedPid };
}

/** Process group and session of a pid, from /proc (Linux). */
export function processGroupOf(pid: number): { pgid: number; sid: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { pgid: Number(fields[2]), sid: Number(fields[3]) };
}
