import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { intake } from "../protocol/intake.js";
import { readLines } from "../protocol/line-reader.js";
import { LineWriter } from "../protocol/line-writer.js";
import { terminate } from "../process/terminate.js";
import type { ChildConnection, ChildSpec } from "./child-connection.js";

/** Lines longer than this from a child are dropped (Claude Code's own stdout limit is 16 MiB). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** What a child may leave unread on its stdin before further messages to it are refused. */
const MAX_UNREAD_BYTES = 64 * 1024 * 1024;
/** How long a child may take to exit once asked, before its process group is killed. */
const STOP_GRACE_MS = 2000;

/**
 * One stdio MCP server process: spawned without a shell in its own process group (so stopping it also stops
 * what an `npx`/`uv` wrapper started), newline-delimited JSON-RPC on stdin/stdout, stderr to our log.
 */
export class StdioChild implements ChildConnection {
  onmessage: ChildConnection["onmessage"] = () => {};
  onexit: ChildConnection["onexit"] = () => {};
  private readonly process: ChildProcessWithoutNullStreams;
  private readonly input: LineWriter;
  private readonly exited: Promise<unknown>;
  private gone = false;

  constructor(spec: ChildSpec, log: (line: string) => void) {
    this.process = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      shell: false,
      windowsHide: true,
    });
    const child = this.process;
    // Node gives a process without pipes when it cannot create them (out of file descriptors).
    if (!child.stdin || !child.stdout || !child.stderr) {
      child.kill("SIGKILL");
      throw new Error("no pipes could be opened to it (out of file descriptors?)");
    }
    this.exited = once(child, "exit").catch(() => {});
    this.input = new LineWriter(child.stdin, { maxQueuedBytes: MAX_UNREAD_BYTES });
    child.stdin.on("error", () => {}); // a child that died mid-write: reported through 'exit'
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) if (line.trim()) log(`[child ${child.pid}] ${line}`);
    });
    readLines(child.stdout, MAX_LINE_BYTES, {
      line: (text) => this.receive(text, log),
      oversized: (length) => log(`dropped a line of ${length} bytes from the child (limit ${MAX_LINE_BYTES})`),
      end: () => {},
    });
    child.once("error", (error) => this.finish(`could not be started: ${error.message}`));
    child.once("exit", (code, signal) => this.finish(signal ? `was killed by ${signal}` : `exited with code ${code}`));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  private receive(text: string, log: (line: string) => void): void {
    const parsed = intake(text);
    if (parsed.kind === "parse-error") return log(`ignoring a non-JSON line from the child: ${JSON.stringify(text.slice(0, 200))}`);
    for (const item of parsed.items) {
      if (item.kind === "invalid") log(`ignoring an invalid message from the child (${item.reason})`);
      else this.onmessage(item.message, item.text);
    }
  }

  send(text: string): boolean {
    return !this.gone && this.input.write(text);
  }

  private finish(reason: string): void {
    if (this.gone) return;
    this.gone = true;
    this.onexit(reason);
  }

  async stop(): Promise<void> {
    const pid = this.process.pid;
    if (pid === undefined || this.process.exitCode !== null || this.process.signalCode !== null) return;
    await terminate(pid, { graceMs: STOP_GRACE_MS, politeTo: "group", exited: this.exited, stdin: this.process.stdin });
  }
}

export const spawnStdioChild = (spec: ChildSpec, log: (line: string) => void): ChildConnection => new StdioChild(spec, log);
