import type { TestContext } from "node:test";
import { configuredHome } from "./daemon-home.js";
import { freePort } from "./processes.js";
import { ProxyClient } from "./proxy-client.js";
import { tempDir } from "./temp-dir.js";

/** A home whose config has the built-in memory server (on a free port) and its own HOME. */
export async function memoryHome(t: TestContext) {
  const daemon = configuredHome(t, { memory: { builtin: "memory", port: await freePort() } });
  const home = tempDir(t, "msm-user-");
  return { ...daemon, env: { ...daemon.env, HOME: home }, userHome: home };
}

/** A proxy session of the memory server for `project`, initialized. */
export async function memorySession(t: TestContext, env: NodeJS.ProcessEnv, project: string): Promise<ProxyClient> {
  const client = new ProxyClient(t, ["--target", "memory"], { env: { ...env, CLAUDE_PROJECT_DIR: project } });
  await client.initialize();
  return client;
}
