import { ErrorCode, errorResponse, type JsonRpcRequest } from "../protocol/json-rpc.js";
import type { Incoming } from "../protocol/intake.js";
import type { UpstreamTransport } from "../upstream/transport.js";
import { ClientInput } from "./client-input.js";
import { OpenRequests, type Batch, type RelayWrite } from "./open-requests.js";
import { UpstreamLink } from "./upstream-link.js";

export interface BridgeOptions {
  /** Finds or starts the daemon and opens a transport to it; throws an Error that says why it could not. */
  connect: () => Promise<UpstreamTransport>;
  /** Writes one line to the client (stdout): its text, or the bytes it arrived in, and the message when parsed. */
  write: RelayWrite;
  log: (line: string) => void;
  /** How long connecting may take: a daemon coming up, and its answer to the replayed initialize. */
  handshakeTimeoutMs: number;
  /** Who relays and what to, as errors and logs name them: mcp-proxy and its daemon unless said otherwise. */
  names?: { self: string; upstream: string };
}

/**
 * One client session relayed to one upstream session: mcp-proxy's core (stdin/stdout to its daemon), and a
 * daemon's for each session of its HTTP server (daemon/http-relay.ts). Client input is checked and relayed in
 * order (client-input.ts), the client's open requests get exactly one answer each under their own ids
 * (open-requests.ts), and upstream restarts stay hidden (upstream-link.ts).
 */
export class Bridge {
  private readonly requests: OpenRequests;
  private readonly input: ClientInput;
  private readonly upstream: UpstreamLink;

  constructor(options: BridgeOptions) {
    const names = options.names ?? { self: "mcp-proxy", upstream: "daemon" };
    this.requests = new OpenRequests(options.write, names.self);
    this.input = new ClientInput(this.requests, (item, batch) => this.fromClient(item, batch), options.write, options.log);
    this.upstream = new UpstreamLink({
      connect: options.connect,
      write: options.write,
      log: options.log,
      // Read at each use: the proxy learns it from the config once it knows its server.
      get handshakeTimeoutMs() {
        return options.handshakeTimeoutMs;
      },
      requests: this.requests,
      upstream: names.upstream,
    });
  }

  /** One line from stdin. Never throws: bad input is answered or logged, never fatal. */
  handleLine(line: string, bytes?: Buffer): void {
    this.input.line(line, bytes);
  }

  /** One message the caller already took in by the shared intake (a daemon's session): not parsed again. */
  handleMessage(item: Incoming): void {
    this.fromClient(item);
  }

  /** A line too long to buffer: answered when it is certainly a request and its id can be read. */
  handleOversized(length: number, head: string, tail: string, limit: number): void {
    this.input.oversized(length, head, tail, limit);
  }

  /** The client's stdout is full (true) or drained again (false): the daemon's messages wait meanwhile. */
  clientBackedUp(waiting: boolean): void {
    this.upstream.pause(waiting);
  }

  private fromClient(item: Incoming, batch?: Batch): void {
    const { message, text, bytes } = item;
    if ("method" in message && "id" in message) return this.fromClientRequest(message, text, bytes, batch);
    let about: number | undefined;
    if ("method" in message) {
      if (message.method === "notifications/initialized") this.upstream.handshakeCompleted({ message, text });
      if (message.method === "notifications/cancelled") {
        // The client stops waiting: an answer arriving later would carry an id it no longer knows. The cancel
        // goes where the request went (a daemon being replaced may still run it).
        const requestId = message.params?.requestId;
        if (typeof requestId === "string" || typeof requestId === "number") {
          about = this.requests.get(requestId)?.sentOn;
          this.requests.forget(requestId);
        }
      }
    }
    // Notifications, and the client's answers to the server's requests (sampling, elicitation, roots).
    this.upstream.send({ message, text, bytes }, about);
  }

  private fromClientRequest(request: JsonRpcRequest, text: string, bytes: Buffer | undefined, batch?: Batch): void {
    if (request.method === "server/discover") {
      // MCP 2026-07-28 probe. The daemon session is the 2025 kind (initialize + session id), so say so at
      // once: the client falls back to initialize, and never waits on a daemon that is still starting.
      return this.input.answer(
        JSON.stringify(errorResponse(request.id, ErrorCode.MethodNotFound, "Method not found: server/discover")),
        batch,
      );
    }
    if (request.method === "initialize") this.upstream.handshakeStarted({ message: request, text });
    this.requests.open(request.id, request.method, batch);
    this.upstream.send({ message: request, text, bytes });
  }

  /** Requests the client sent that wait for their answer. */
  get openRequests(): number {
    return this.requests.size;
  }

  /** Resolves once every request the client sent has been answered (stdin closed: finish, then exit). */
  whenIdle(): Promise<void> {
    return this.requests.whenIdle();
  }

  /** Answers everything still open with an error and ends the daemon session within `timeoutMs`. */
  async close(timeoutMs: number, reason?: string): Promise<void> {
    if (reason) for (const entry of this.requests.entries()) this.requests.fail(entry, reason);
    await this.upstream.close(timeoutMs);
  }
}
