import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { classify, type JsonRpcMessage } from "../protocol/json-rpc.js";

export interface StdioChildSpec {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
}

/** Lines longer than this from a child are dropped (Claude Code's own stdout limit is 16 MiB). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * One stdio MCP server process: spawned without a shell in its own process group (so stopping it also stops
 * what an `npx`/`uv` wrapper started), newline-delimited JSON-RPC on stdin/stdout, stderr to our log.
 */
export class StdioChild {
  onmessage: (message: JsonRpcMessage) => void = () => {};
  onexit: (reason: string) => void = () => {};
  readonly process: ChildProcessWithoutNullStreams;
  private exited = false;

  constructor(spec: StdioChildSpec, log: (line: string) => void) {
    this.process = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      shell: false,
      windowsHide: true,
    });
    const child = this.process;
    child.stdin.on("error", () => {}); // a child that died mid-write: reported through 'exit'
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) if (line.trim()) log(`[child ${child.pid}] ${line}`);
    });
    this.readLines(log);
    child.once("error", (error) => this.finish(`could not be started: ${error.message}`));
    child.once("exit", (code, signal) => this.finish(signal ? `killed by ${signal}` : `exited with code ${code}`));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  private readLines(log: (line: string) => void): void {
    let pending = "";
    this.process.stdout.setEncoding("utf8");
    this.process.stdout.on("data", (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line) this.parse(line, log);
      }
      if (pending.length > MAX_LINE_BYTES) {
        log(`dropped ${pending.length} bytes from the child without a newline`);
        pending = "";
      }
    });
  }

  private parse(line: string, log: (line: string) => void): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      log(`ignoring a non-JSON line from the child: ${line.slice(0, 200)}`);
      return;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      const classified = classify(item);
      if (classified.kind === "invalid") log(`ignoring an invalid message from the child (${classified.reason})`);
      else this.onmessage(classified.message);
    }
  }

  send(message: JsonRpcMessage): void {
    if (!this.exited) this.process.stdin.write(JSON.stringify(message) + "\n");
  }

  private finish(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    this.onexit(reason);
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Closes stdin, then SIGTERM, then SIGKILL to the whole process group. Resolves once it is gone. */
  async stop(graceMs = 2000): Promise<void> {
    const pid = this.process.pid;
    if (this.exited || pid === undefined) return;
    const gone = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.stdin.end();
    signalGroup(pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
    await gone;
    clearTimeout(timer);
    signalGroup(pid, "SIGKILL"); // grandchildren that outlived their parent
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(process.platform === "win32" ? pid : -pid, signal);
  } catch {
    // already gone
  }
}
