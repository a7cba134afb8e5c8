import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "../test/helpers/processes.js";

/** The pid `<home>/<name>.lock` names: our daemon of that server. Throws when there is no lock. */
export function ourDaemonPid(home: string, name: string): number {
  return (JSON.parse(readFileSync(join(home, `${name}.lock`), "utf8")) as { pid: number }).pid;
}

/**
 * Stops the daemon `<home>/<name>.lock` names (our proxies start daemons detached) and waits until it is gone,
 * so that its home can be removed without the daemon writing into it again on its way out.
 */
export async function stopOurDaemon(home: string, name: string): Promise<void> {
  let pid: number;
  try {
    pid = ourDaemonPid(home, name);
    process.kill(pid, "SIGTERM");
  } catch {
    return; // not running
  }
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
}
