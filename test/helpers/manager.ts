import { execFile, type ChildProcess } from "node:child_process";
import { WAIT_MS, within } from "./bounded.js";
import { once } from "node:events";
import http from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { onCleanup, type CleanupScope } from "./cleanup.js";
import type { DaemonHome } from "./daemon-home.js";
import { MANAGER } from "./paths.js";
import { isAlive, spawnTracked, waitForOutput } from "./processes.js";

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** One HTTP request to 127.0.0.1:port with full control of the headers (Host and Origin included). */
export function httpJson(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, method, path, headers: options.headers ?? {}, agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      });
    });
    request.once("error", reject);
    request.end(options.body);
  });
}

export interface RunningManager {
  child: ChildProcess;
  port: number;
  stderr(): string;
  token(): string;
  /** A mutating call with the token from the home directory. */
  post(path: string, body?: unknown): Promise<HttpAnswer>;
  /** `GET /status` with the token: the whole of it. */
  status(): Promise<any>;
  /** Resolves once the manager's log output matches. */
  logged(pattern: RegExp, what: string): Promise<string>;
}

/** `mcp-manager start` in the foreground for the home, listening on `port`; killed when the test ends. */
export async function startManager(t: TestContext, daemon: DaemonHome, port: number, args: string[] = []): Promise<RunningManager> {
  const child = spawnTracked(t, process.execPath, [MANAGER, "--config", join(daemon.home, "config.json"), "start", ...args], {
    env: daemon.env,
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => (stderr += chunk));
  await waitForOutput(child.stderr!, (text) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(text), "the manager to listen");
  const token = () => readFileSync(join(daemon.home, "manager.token"), "utf8").trim();
  return {
    child,
    port,
    stderr: () => stderr,
    token,
    post: (path, body = {}) =>
      httpJson(port, "POST", path, {
        headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    status: async () => (await httpJson(port, "GET", "/status", { headers: { authorization: `Bearer ${token()}` } })).body,
    logged: async (pattern, what) => {
      const deadline = Date.now() + WAIT_MS;
      while (!pattern.test(stderr)) {
        if (child.exitCode !== null) throw new Error(`manager exited while waiting for ${what}:\n${stderr}`);
        const left = deadline - Date.now();
        await within(once(child.stderr!, "data"), `${what} in the manager's log (${pattern}); it logged:\n${stderr}`, Math.max(left, 0));
      }
      return stderr;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs the mcp-manager CLI to completion; resolves with its exit code and output, never throws. */
export async function runManagerCli(args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [MANAGER, ...args], options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as CliResult;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Kills the manager this home's lock names, should the test end before it stopped it. */
export function stopManagerAfter(t: CleanupScope, daemon: DaemonHome): void {
  onCleanup(t, () => {
    const pid = daemon.lock("manager")?.pid;
    if (pid && isAlive(pid)) process.kill(pid, "SIGKILL");
  });
}
