import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { intake } from "../protocol/intake.js";
import { oversizedAnswer } from "../protocol/oversized-line.js";
import { readLines } from "../protocol/line-reader.js";
import { relayableBytes } from "../protocol/large-lines.js";
import { LineWriter } from "../protocol/line-writer.js";
import { endGroupRemnants, terminate } from "../process/terminate.js";
import type { ChildConnection, ChildSpec } from "./child-connection.js";

/** Lines longer than this from a child are dropped (Claude Code's own stdout limit is 16 MiB). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** What a child may leave unread on its stdin before further messages to it are refused. */
const MAX_UNREAD_BYTES = 64 * 1024 * 1024;
/** How long a child may take to exit once asked, before its process group is killed. */
export const STOP_GRACE_MS = 2000;

/** A server process's stdio and lifetime, however it came to be ours: spawned here, or adopted (adopted-child.ts). */
export interface ServerProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves, once, with why the process is gone: it exited, was killed, or could not be started. */
  readonly gone: Promise<string>;
  /** Ends the process and its process group; resolves once it is gone. */
  stop(): Promise<void>;
}

/**
 * One stdio MCP server process as the daemon core sees it: newline-delimited JSON-RPC on its stdin and stdout,
 * its stderr to our log.
 */
export class StdioChild implements ChildConnection {
  onmessage: ChildConnection["onmessage"] = () => {};
  onexit: ChildConnection["onexit"] = () => {};
  private readonly input: LineWriter;
  private gone = false;

  constructor(
    private readonly server: ServerProcess,
    log: (line: string) => void,
  ) {
    this.input = new LineWriter(server.stdin, { maxQueuedBytes: MAX_UNREAD_BYTES });
    server.stdin.on("error", () => {}); // a child that died mid-write: reported through `gone`
    server.stderr.setEncoding("utf8");
    server.stderr.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) if (line.trim()) log(`[child ${server.pid}] ${line}`);
    });
    readLines(server.stdout, MAX_LINE_BYTES, {
      line: (text, bytes) => this.receive(text, bytes, log),
      oversized: (length, head, tail) => this.oversized(length, head, tail, log),
      end: () => {},
    });
    void server.gone.then((reason) => this.finish(reason));
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  private receive(text: string, bytes: Buffer, log: (line: string) => void): void {
    const parsed = intake(text);
    if (parsed.kind === "parse-error") return log(`ignoring a non-JSON line from the child: ${JSON.stringify(text.slice(0, 200))}`);
    for (const item of parsed.items) {
      if (item.kind === "invalid") log(`ignoring an invalid message from the child (${item.reason})`);
      else this.onmessage(item.message, item.text, relayableBytes(text, bytes, item.text));
    }
  }

  /** A line past the limit is dropped; when it is an answer, its request fails with the reason, not in silence. */
  private oversized(length: number, head: string, tail: string, log: (line: string) => void): void {
    log(`dropped a line of ${length} bytes from the child (limit ${MAX_LINE_BYTES})`);
    const answer = oversizedAnswer(length, head, tail, MAX_LINE_BYTES, "mcp-session-manager");
    if (answer) this.onmessage(answer, JSON.stringify(answer));
  }

  send(text: string): boolean {
    return !this.gone && this.input.write(text);
  }

  private finish(reason: string): void {
    if (this.gone) return;
    this.gone = true;
    if (this.server.pid !== undefined) void endGroupRemnants(this.server.pid, STOP_GRACE_MS);
    this.onexit(reason);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

/**
 * Spawns a server without a shell in its own process group (so stopping it also stops what an `npx`/`uv` wrapper
 * started), in the daemon's environment with the entry's on top.
 */
function spawnedProcess(spec: ChildSpec): ServerProcess {
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    shell: false,
    windowsHide: true,
  });
  // Node gives a process without pipes when it cannot create them (out of file descriptors).
  if (!child.stdin || !child.stdout || !child.stderr) {
    child.kill("SIGKILL");
    throw new Error("no pipes could be opened to it (out of file descriptors?)");
  }
  const gone = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(`could not be started: ${error.message}`));
    child.once("exit", (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
  });
  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    gone,
    stop: async () => {
      const pid = child.pid;
      if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      await terminate(pid, { graceMs: STOP_GRACE_MS, politeTo: "group", exited: gone, stdin: child.stdin });
    },
  };
}

export const spawnStdioChild = (spec: ChildSpec, log: (line: string) => void): ChildConnection => new StdioChild(spawnedProcess(spec), log);
