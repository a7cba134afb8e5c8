import type { ChildProcess } from "node:child_process";
import type { CleanupScope } from "./cleanup.js";
import { EVERYTHING, FIXTURES } from "./paths.js";
import { freePort, spawnTracked, waitForOutput } from "./processes.js";

export interface RunningServer {
  url: string;
  port: number;
  child: ChildProcess;
}

/** server-everything in `streamableHttp` or `sse` mode on a free loopback port; stopped after the test. */
export async function startEverything(t: CleanupScope, mode: "streamableHttp" | "sse", port?: number): Promise<RunningServer> {
  for (let attempt = 0; ; attempt++) {
    const chosen = port ?? (await freePort());
    const child = spawnTracked(t, process.execPath, [EVERYTHING, mode], {
      env: { ...process.env, PORT: String(chosen) },
      detached: true,
    });
    child.stdout!.resume(); // it logs every request there; an unread pipe would stall it
    const output = await waitForOutput(
      child.stderr!,
      (text) => /listening on port|running on port|already in use/i.test(text),
      "the server listened",
    );
    if (/already in use/i.test(output)) {
      if (port !== undefined || attempt > 5) throw new Error(`port ${chosen} is in use`);
      continue; // another process took the free port between our check and the bind
    }
    const path = mode === "sse" ? "/sse" : "/mcp";
    return { url: `http://127.0.0.1:${chosen}${path}`, port: chosen, child };
  }
}

/** The FastMCP-flavoured legacy SSE fixture on an ephemeral port. */
export async function startFastMcpFixture(t: CleanupScope): Promise<RunningServer> {
  const child = spawnTracked(t, process.execPath, [`${FIXTURES}fastmcp-sse-server.js`]);
  const output = await waitForOutput(child.stdout!, (text) => /listening \d+/.test(text), "the fixture listened");
  const port = Number(/listening (\d+)/.exec(output)![1]);
  return { url: `http://127.0.0.1:${port}/sse`, port, child };
}
