import type { JsonRpcMessage } from "../protocol/json-rpc.js";

/** How to start one stdio server process. */
export interface ChildSpec {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
}

/** One running server process as the daemon core sees it: lines of JSON-RPC in and out, and its end. */
export interface ChildConnection {
  readonly pid: number | undefined;
  /**
   * A valid message from the child, with its text on one line; `bytes` are that line as it arrived when it is
   * worth relaying as it is (protocol/large-lines.ts).
   */
  onmessage: (message: JsonRpcMessage, text: string, bytes?: Buffer) => void;
  /** The process is gone (exited, killed, or could not be started); said once. */
  onexit: (reason: string) => void;
  /** Writes one message line; false when the child is gone or too far behind reading its input. */
  send(text: string): boolean;
  /** Ends the process and its process group; resolves once it is gone. */
  stop(): Promise<void>;
}

/** Starts a child: the real one spawns a process (stdio-child.ts); unit tests hand in fakes. */
export type SpawnChild = (spec: ChildSpec, log: (line: string) => void) => ChildConnection;

/** How a stdio server's children are started, in `cwd` (else the daemon's own directory). */
export function serverSpec(server: { command: string; args: string[]; env: Record<string, string> }, cwd: string | undefined): ChildSpec {
  return { command: server.command, args: server.args, env: server.env, ...(cwd ? { cwd } : {}) };
}

/** Whether two specs start the same process: the same command, arguments, environment and directory. */
export function sameSpec(a: ChildSpec, b: ChildSpec): boolean {
  const names = Object.keys(a.env);
  return (
    a.command === b.command &&
    a.cwd === b.cwd &&
    a.args.length === b.args.length &&
    a.args.every((arg, i) => arg === b.args[i]) &&
    names.length === Object.keys(b.env).length &&
    names.every((name) => a.env[name] === b.env[name])
  );
}
