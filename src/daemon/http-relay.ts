import type { Incoming } from "../protocol/intake.js";
import { isRequest, type JsonRpcMessage } from "../protocol/json-rpc.js";
import { RELAY_BYTES_FROM } from "../protocol/large-lines.js";
import { Bridge } from "../relay/bridge.js";
import type { UpstreamTransport } from "../upstream/transport.js";
import type { Backend, SessionPort } from "./backend.js";
import { MAX_IN_FLIGHT_PER_SESSION, tooManyInFlight } from "./in-flight-limit.js";

/** How long ending a session's HTTP session (a DELETE) may take. */
const CLOSE_TIMEOUT_MS = 2000;

export interface HttpRelayOptions {
  /** Opens an HTTP session to the server for this daemon session (waiting for the server to listen). */
  connect: (session: SessionPort) => Promise<UpstreamTransport>;
  /** How long a session may wait for the server to come up, and for its answer to a replayed initialize. */
  handshakeTimeoutMs: number;
  /** What else status shows: the server process. */
  status: () => Record<string, unknown>;
  /** Stops the server, once its sessions there have ended. */
  stopServer: () => Promise<void>;
  log: (line: string) => void;
}

/**
 * Serves each daemon session of an HTTP server with an HTTP session of its own on that server, relayed as a
 * proxy would (relay/bridge.ts): every message in order, each request answered once, and a server restart hidden
 * by replaying the session's handshake. So a session's project, capabilities and server requests stay its own,
 * while its proxy holds no HTTP client: the daemon holds one for all of them.
 */
export class HttpRelay implements Backend {
  private readonly bridges = new Map<SessionPort, Bridge>();

  constructor(private readonly options: HttpRelayOptions) {}

  get sessionCount(): number {
    return this.bridges.size;
  }

  attach(session: SessionPort): void {
    const { log } = this.options;
    const bridge = new Bridge({
      connect: () => this.options.connect(session),
      write: (line, message) => deliver(session, line, message, log),
      log: (line) => log(`session ${session.id}: ${line}`),
      handshakeTimeoutMs: this.options.handshakeTimeoutMs,
      names: { self: "mcp-session-manager", upstream: "server" },
    });
    this.bridges.set(session, bridge);
  }

  /** The session ended: its HTTP session on the server ends too, and its calls there with it. */
  detach(session: SessionPort): void {
    const bridge = this.bridges.get(session);
    this.bridges.delete(session);
    void bridge?.close(CLOSE_TIMEOUT_MS);
  }

  handle(session: SessionPort, message: JsonRpcMessage, text?: string): void {
    const bridge = this.bridges.get(session);
    if (!bridge) return;
    // The same bound as for a stdio server's sessions: one client cannot take every connection to the server.
    const request = isRequest(message);
    if (request && bridge.openRequests >= MAX_IN_FLIGHT_PER_SESSION) {
      return session.deliver(tooManyInFlight(message.id), message.id);
    }
    // Checked by the session's intake already: handed on as it is, not parsed again.
    const kind: Incoming["kind"] = request ? "request" : "method" in message ? "notification" : "response";
    bridge.handleMessage({ kind, message, text: text ?? JSON.stringify(message) });
  }

  status(): Record<string, unknown> {
    return { ...this.options.status(), sessions: this.bridges.size };
  }

  async stop(): Promise<void> {
    const bridges = [...this.bridges.values()];
    this.bridges.clear();
    await Promise.all(bridges.map((bridge) => bridge.close(CLOSE_TIMEOUT_MS, "mcp-session-manager: the daemon is stopping")));
    await this.options.stopServer();
  }
}

/**
 * One line from the server (or the relay itself) to the session, as the message it is and the text it came in.
 * The relay hands over the message it parsed; a line it made without one (an answer it gave itself) is parsed here.
 */
function deliver(session: SessionPort, line: string | Buffer[], parsed: JsonRpcMessage | undefined, log: (line: string) => void): void {
  const text = typeof line === "string" ? line : Buffer.concat(line).toString();
  let message: JsonRpcMessage;
  try {
    message = parsed ?? (JSON.parse(text) as JsonRpcMessage);
  } catch {
    return log(`session ${session.id}: dropped a line that is not JSON on its way to the client`);
  }
  const answers = !("method" in message) && message.id !== null ? message.id : undefined;
  // A large line is serialised again: mcp-proxy reads the id of our large lines from their edges, which holds only
  // for a line with one top-level id (large-lines.ts), and a server's own text may repeat keys.
  session.deliver(message, answers, text.length >= RELAY_BYTES_FROM ? JSON.stringify(message) : text);
}
