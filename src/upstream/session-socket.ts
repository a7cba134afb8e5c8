import net from "node:net";
import { readLines } from "../protocol/line-reader.js";
import { writePieces } from "../protocol/line-writer.js";
import { largeAnswerId, relayableBytes } from "../protocol/large-lines.js";
import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import { oversizedAnswer } from "../protocol/oversized-line.js";
import {
  PROVEN_SESSION_SOCKET_PROTOCOL,
  SESSION_SOCKET_PROTOCOL,
  type SessionSocketChallenge,
  type SessionSocketHello,
  type SessionSocketProof,
  type SessionSocketWelcome,
} from "../protocol/session-socket.js";
import { proofFor, randomText, sameSecret } from "../runtime/identity-proof.js";
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
  /**
   * Challenge the daemon first (protocol version 2) and greet it only once it proved to be this home's daemon of
   * `name`; without it, the daemon was proven before (over HTTP) and is greeted at once (version 1).
   */
  proof?: { token: string; name: string };
  log: (line: string) => void;
}

/**
 * One session with our daemon over its session socket (protocol/session-socket.ts): the greeting opens it,
 * then each message is one line, in order both ways, and closing the connection ends it. A connection the
 * daemon closes is a lost session: every request it carried may or may not have run.
 */
export class SessionSocketTransport implements UpstreamTransport {
  readonly ownDaemon = true;
  onmessage: UpstreamTransport["onmessage"] = () => {};
  onlost: UpstreamTransport["onlost"] = () => {};
  onlargeanswer: UpstreamTransport["onlargeanswer"];

  private socket: net.Socket | undefined;
  private open = false;
  private lost = false;
  private closed = false;
  /** Opened ahead of its user (openAhead): what arrives is held until `start()` hands it over. */
  private held: Array<() => void> | undefined;

  constructor(private readonly options: SessionSocketOptions) {}

  /**
   * Opens the session before whoever will use it has set `onmessage` and `onlost`: what the daemon sends meanwhile
   * (a notification, a drain notice) or a loss waits for `start()`, which then resolves at once.
   */
  openAhead(): Promise<void> {
    this.held = [];
    return this.connect();
  }

  start(): Promise<void> {
    const held = this.held;
    if (!held) return this.connect();
    this.held = undefined;
    for (const deliver of held) deliver();
    return Promise.resolve();
  }

  /** Hands something from the daemon over now, or once `start()` is called when opened ahead. */
  private deliver(what: () => void): void {
    if (this.held) this.held.push(what);
    else what();
  }

  private connect(): Promise<void> {
    const { path, log, proof } = this.options;
    const protocol = proof ? PROVEN_SESSION_SOCKET_PROTOCOL : SESSION_SOCKET_PROTOCOL;
    const challenge = proof ? randomText() : undefined;
    let proven = proof === undefined;
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
        const waited = `did not answer the ${proven ? "greeting" : "challenge"} within ${this.options.greetingTimeoutMs} ms`;
        refuse(new UpstreamError(`the daemon at ${path} ${waited}`, "unreachable", { delivered: false }));
      }, this.options.greetingTimeoutMs);
      const greet = () => {
        const hello: SessionSocketHello = { protocol, projectPath: this.options.projectPath, client: this.options.client, drains: true };
        socket.write(JSON.stringify(hello) + "\n");
      };
      socket.on("connect", () => {
        if (challenge === undefined) return greet();
        const first: SessionSocketChallenge = { protocol, challenge };
        socket.write(JSON.stringify(first) + "\n");
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
        line: (text, bytes) => {
          if (this.open) {
            for (const [message, messageText] of parseIncoming(text, log)) {
              const relayable = relayableBytes(text, bytes, messageText);
              this.deliver(() => this.onmessage(message, messageText, relayable));
            }
            return;
          }
          if (!proven) {
            // An earlier daemon refuses version 2 as unknown; a stranger answers anything: neither is greeted.
            const why = provenBy(text, proof!, path, challenge!);
            if (why !== undefined) return refuse(new UpstreamError(`the daemon at ${path} ${why}`, "rejected", { delivered: false }));
            proven = true;
            return greet();
          }
          const welcome = parseWelcome(text, protocol);
          if (welcome.session === undefined) {
            const why = `daemon refused the session: ${welcome.error ?? "no session in its answer"}`;
            // Refused because it is being replaced: the new one is starting, and is looked for again.
            return refuse(new UpstreamError(why, welcome.retry ? "unreachable" : "rejected", { delivered: false }));
          }
          clearTimeout(timer);
          this.open = true;
          resolve();
        },
        // Our daemon's answers are valid JSON-RPC: a large one goes on unparsed when its edges name its id. Not
        // while opened ahead, when what arrives waits in order for start().
        large: (pieces) => {
          if (!this.open || this.held || !this.onlargeanswer) return false;
          const id = largeAnswerId(pieces);
          return id !== undefined && this.onlargeanswer(id, pieces);
        },
        oversized: (length, head, tail) => {
          log(`dropped a message of ${length} bytes from the daemon (limit ${MAX_LINE_BYTES})`);
          // An answer (a whole graph past the limit) fails its request with the reason rather than leave it waiting.
          const answer = this.open ? oversizedAnswer(length, head, tail, MAX_LINE_BYTES, "mcp-proxy") : undefined;
          if (answer) this.deliver(() => this.onmessage(answer, JSON.stringify(answer)));
        },
        end: () => {
          // The daemon ended the session (it is stopping): nothing more can be sent on it.
          if (this.open) this.lose("the daemon closed the session socket");
          if (!socket.writableEnded) socket.end();
        },
      });
    });
  }

  /**
   * Resolves once the line is handed to the kernel. A write the socket refuses (the daemon is gone) was never
   * delivered, so the bridge sends it again on the next session; one written before the session was lost may
   * or may not have run.
   */
  send(message: JsonRpcMessage, text = JSON.stringify(message), bytes?: Buffer): Promise<void> {
    const socket = this.socket;
    if (!this.open || this.lost || this.closed || !socket || socket.writableEnded) {
      return Promise.reject(new UpstreamError("daemon session already ended", "session-lost", { delivered: false }));
    }
    return new Promise((resolve, reject) => {
      const written = (error?: Error | null) => {
        if (error)
          reject(
            new UpstreamError(`the daemon session socket refused the message (${error.message})`, "session-lost", { delivered: false }),
          );
        else if (this.lost) reject(new UpstreamError("the daemon closed the session socket", "session-lost"));
        else resolve();
      };
      // A large message goes as the bytes it came in.
      if (bytes) writePieces(socket, [bytes], written);
      else socket.write(text + "\n", written);
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
    this.deliver(() => this.onlost(reason));
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

/** Why the daemon's answer to our challenge does not prove it to be this home's daemon of the name; undefined if it does. */
function provenBy(text: string, proof: { token: string; name: string }, path: string, challenge: string): string | undefined {
  let answer: Partial<SessionSocketProof & SessionSocketWelcome> | null;
  try {
    answer = JSON.parse(text) as Partial<SessionSocketProof & SessionSocketWelcome> | null;
  } catch {
    return `answered the challenge with something other than JSON: ${text.slice(0, 200)}`;
  }
  if (typeof answer?.error === "string") return `refused the challenge: ${answer.error}`;
  if (answer?.protocol !== PROVEN_SESSION_SOCKET_PROTOCOL || answer.role !== "daemon" || answer.name !== proof.name) {
    return `did not answer as the daemon of "${proof.name}": ${text.slice(0, 200)}`;
  }
  const identity = { role: "daemon" as const, name: proof.name };
  if (typeof answer.instance !== "string" || typeof answer.proof !== "string") return "did not prove to be this home's daemon";
  const expected = proofFor(proof.token, identity, `unix:${path}`, answer.instance, challenge);
  if (!sameSecret(answer.proof, expected)) return "did not prove to be this home's daemon";
  return undefined;
}

function parseWelcome(text: string, protocol: string): Partial<SessionSocketWelcome> {
  try {
    const value = JSON.parse(text) as Partial<SessionSocketWelcome> | null;
    if (value?.protocol === protocol) return value;
    return { error: `it answered in an unknown protocol: ${text.slice(0, 200)}` };
  } catch {
    return { error: `it answered with something other than a greeting: ${text.slice(0, 200)}` };
  }
}
