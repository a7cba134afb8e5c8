import net from "node:net";
import { readLines } from "../protocol/line-reader.js";
import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import { SESSION_SOCKET_PROTOCOL, type SessionSocketHello, type SessionSocketWelcome } from "../protocol/session-socket.js";
import { parseIncoming } from "./incoming.js";
import type { UpstreamTransport } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";

/** Longer lines from the daemon are dropped (it reads its child's lines to the same limit). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface SessionSocketOptions {
  /** The daemon's session socket file. */
  path: string;
  /** The project directory the session works in, as mcp-proxy determined it. */
  projectPath: string;
  /** Who we are, for the daemon's log. */
  client: string;
  /** How long the daemon may take to answer the greeting (a hung daemon accepts but never answers). */
  greetingTimeoutMs: number;
  log: (line: string) => void;
}

/**
 * One session with our daemon over its session socket (protocol/session-socket.ts): the greeting opens it,
 * then each message is one line, in order both ways, and closing the connection ends it. A connection the
 * daemon closes is a lost session: every request it carried may or may not have run.
 */
export class SessionSocketTransport implements UpstreamTransport {
  onmessage: UpstreamTransport["onmessage"] = () => {};
  onlost: UpstreamTransport["onlost"] = () => {};

  private socket: net.Socket | undefined;
  private open = false;
  private lost = false;
  private closed = false;

  constructor(private readonly options: SessionSocketOptions) {}

  start(): Promise<void> {
    const { path, log } = this.options;
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      this.socket = socket;
      // eslint-disable-next-line prefer-const -- assigned once, after `refuse`, which the timer itself calls
      let timer: NodeJS.Timeout | undefined;
      const refuse = (error: UpstreamError) => {
        clearTimeout(timer);
        if (this.open) return;
        reject(error);
        socket.destroy();
      };
      timer = setTimeout(() => {
        const waited = `did not answer the greeting within ${this.options.greetingTimeoutMs} ms`;
        refuse(new UpstreamError(`the daemon at ${path} ${waited}`, "unreachable", { delivered: false }));
      }, this.options.greetingTimeoutMs);
      socket.on("connect", () => {
        const hello: SessionSocketHello = {
          protocol: SESSION_SOCKET_PROTOCOL,
          projectPath: this.options.projectPath,
          client: this.options.client,
          drains: true,
        };
        socket.write(JSON.stringify(hello) + "\n");
      });
      // Until the daemon has answered the greeting nothing of the client's has been sent: whatever fails here,
      // the session can be tried again (a daemon still coming up, or one being replaced).
      socket.on("error", (error: NodeJS.ErrnoException) => {
        const why = error.code ?? error.message;
        refuse(new UpstreamError(`cannot reach the daemon at ${path} (${why})`, "unreachable", { delivered: false }));
      });
      socket.on("close", () => {
        if (this.open) this.lose("the daemon closed the session socket");
        else refuse(new UpstreamError(`the daemon closed ${path} before opening a session`, "unreachable", { delivered: false }));
      });
      readLines(socket, MAX_LINE_BYTES, {
        line: (text) => {
          if (this.open) {
            for (const [message, messageText] of parseIncoming(text, log)) this.onmessage(message, messageText);
            return;
          }
          const welcome = parseWelcome(text);
          if (welcome.session === undefined) {
            const why = `daemon refused the session: ${welcome.error ?? "no session in its answer"}`;
            // Refused because it is being replaced: the new one is starting, and is looked for again.
            return refuse(new UpstreamError(why, welcome.retry ? "unreachable" : "rejected", { delivered: false }));
          }
          clearTimeout(timer);
          this.open = true;
          resolve();
        },
        oversized: (length) => log(`dropped a message of ${length} bytes from the daemon (limit ${MAX_LINE_BYTES})`),
        end: () => {
          // The daemon ended the session (it is stopping): nothing more can be sent on it.
          if (this.open) this.lose("the daemon closed the session socket");
          socket.end();
        },
      });
    });
  }

  /**
   * Resolves once the line is handed to the kernel. A write the socket refuses (the daemon is gone) was never
   * delivered, so the bridge sends it again on the next session; one written before the session was lost may
   * or may not have run.
   */
  send(message: JsonRpcMessage, text = JSON.stringify(message)): Promise<void> {
    const socket = this.socket;
    if (!this.open || this.lost || this.closed || !socket || socket.writableEnded) {
      return Promise.reject(new UpstreamError("daemon session already ended", "session-lost", { delivered: false }));
    }
    return new Promise((resolve, reject) => {
      socket.write(text + "\n", (error) => {
        if (error)
          reject(
            new UpstreamError(`the daemon session socket refused the message (${error.message})`, "session-lost", { delivered: false }),
          );
        else if (this.lost) reject(new UpstreamError("the daemon closed the session socket", "session-lost"));
        else resolve();
      });
    });
  }

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  private lose(reason: string): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    this.onlost(reason);
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    const gone = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.end();
    await gone;
    clearTimeout(timer);
  }
}

function parseWelcome(text: string): Partial<SessionSocketWelcome> {
  try {
    const value = JSON.parse(text) as Partial<SessionSocketWelcome> | null;
    if (value?.protocol === SESSION_SOCKET_PROTOCOL) return value;
    return { error: `it answered in an unknown protocol: ${text.slice(0, 200)}` };
  } catch {
    return { error: `it answered with something other than a greeting: ${text.slice(0, 200)}` };
  }
}
