import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isListening } from "../src/runtime/port-probe.js";

/** The alternatives, pinned, installed by the benchmark itself into a scratch directory (kept between runs). */
export const ALTERNATIVES = { supergateway: "4.0.0", "mcp-proxy": "6.7.19", "mcp-session-manager": "1.0.1" } as const;

export interface Installed {
  supergateway: string;
  mcpProxy: string;
  originalProxy: string;
}

export function installAlternatives(dir = join(tmpdir(), "msm-bench-alternatives")): Installed {
  const modules = join(dir, "node_modules");
  const installed: Installed = {
    supergateway: join(modules, "supergateway", "dist", "index.js"),
    mcpProxy: join(modules, "mcp-proxy", "dist", "bin", "mcp-proxy.mjs"),
    originalProxy: join(modules, "mcp-session-manager", "dist", "proxy", "index.js"),
  };
  const versionOk = (name: string, version: string) => {
    try {
      return (JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")) as { version: string }).version === version;
    } catch {
      return false;
    }
  };
  if (!Object.entries(ALTERNATIVES).every(([name, version]) => versionOk(name, version)) || !Object.values(installed).every(existsSync)) {
    process.stderr.write(
      `installing ${Object.entries(ALTERNATIVES)
        .map(([n, v]) => `${n}@${v}`)
        .join(", ")} into ${dir}\n`,
    );
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    execFileSync(
      npm,
      ["install", "--no-audit", "--no-fund", "--prefix", dir, ...Object.entries(ALTERNATIVES).map(([n, v]) => `${n}@${v}`)],
      { stdio: "inherit" },
    );
  }
  return installed;
}

/** Starts an HTTP bridge and resolves once its port accepts connections. */
export async function startListening(
  command: string,
  args: string[],
  port: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChildProcess> {
  const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "ignore"], detached: true });
  let exited = false;
  child.once("exit", () => (exited = true));
  const url = new URL(`http://127.0.0.1:${port}/`);
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await isListening(url)) return child;
    if (exited) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${command} ${args.join(" ")} did not listen on ${port}`);
}

/** Stops a bridge and every child it spawned (it leads its own process group). */
export function stopGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // gone
  }
}
