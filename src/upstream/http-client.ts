import http from "node:http";
import type https from "node:https";
import { BodyTooLarge, readBoundedBody } from "../http/read-body.js";
import { UpstreamError } from "./upstream-error.js";

// Requests over node:http rather than fetch: no 300 s headers/body timeout cuts a long tool call,
// keep-alive sockets are reused across calls, and there is no stream adapter on the hot path.

/**
 * A session's bound: its event stream beside its calls in flight, which a daemon caps at 1,000 a session (a lower
 * one would hold its later messages, cancels included, behind long calls). Few idle sockets are kept: a daemon
 * holds a pool for each of its sessions.
 */
const AGENT_OPTIONS: http.AgentOptions = { keepAlive: true, maxSockets: 1024, maxFreeSockets: 4 };
type Transport = { transport: typeof http | typeof https; agent: http.Agent };

export interface HttpRequest {
  method: "GET" | "POST" | "DELETE";
  url: URL;
  /** A Unix domain socket to reach the server through instead of TCP (same HTTP, fewer kernel hops). */
  socketPath?: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Called once the request (with its body) has been handed to the socket. */
  onWritten?: () => void;
}

/** More than the idle sockets a pool holds for one daemon in practice; each failed one leaves the pool. */
const MAX_STALE_SOCKETS = 16;

/**
 * The connections of one session: its requests share kept-alive sockets, and ending the session ends them all,
 * requests still waiting for an answer included. So a daemon relaying many sessions to one server never waits
 * on a hung server for a session that is gone, and one session's calls cannot take another's connections.
 */
export class ConnectionPool {
  private readonly plain: Transport = { transport: http, agent: new http.Agent(AGENT_OPTIONS) };
  /**
   * node:https (with TLS) loads only for an https server: our daemons and local servers speak plain HTTP.
   * The promise is kept, so that requests made at once share one agent.
   */
  private secure: Promise<Transport> | undefined;
  private secureAgent: https.Agent | undefined;
  private destroyed = false;
  /** Set once the session is given up: no new request, and the pool is destroyed when none is in flight. */
  private retiring = false;

  request(request: HttpRequest): Promise<http.IncomingMessage> {
    if (this.destroyed || this.retiring) return Promise.reject(poolClosed());
    // Plain HTTP, every message to our daemon, goes out in this turn: no await on that path.
    if (request.url.protocol !== "https:") return this.attempt(request, this.plain, MAX_STALE_SOCKETS);
    return this.secureTransport().then((secured) => this.attempt(request, secured, MAX_STALE_SOCKETS));
  }

  /**
   * Takes no new request, and closes every connection once the requests in flight are over. Watched from here on
   * only (a socket freed, or one in use that closes), so that a busy session pays nothing per request for it.
   */
  retire(): void {
    if (this.retiring || this.destroyed) return;
    this.retiring = true;
    const agents = [this.plain.agent, ...(this.secureAgent ? [this.secureAgent] : [])];
    const check = () => {
      if (!this.destroyed && agents.every((agent) => inUse(agent) === 0)) this.destroy();
    };
    for (const agent of agents) {
      agent.on("free", check);
      for (const socket of Object.values(agent.sockets).flat()) socket?.once("close", check);
    }
    check();
  }

  /** Closes every connection, idle or in use: requests still on them fail. */
  destroy(): void {
    this.destroyed = true;
    this.plain.agent.destroy();
    this.secureAgent?.destroy();
  }

  private secureTransport(): Promise<Transport> {
    this.secure ??= import("node:https").then(({ default: transport }) => {
      this.secureAgent = new transport.Agent(AGENT_OPTIONS);
      if (this.destroyed) this.secureAgent.destroy();
      return { transport, agent: this.secureAgent };
    });
    return this.secure;
  }

  private attempt(request: HttpRequest, { transport, agent }: Transport, retries: number): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      // Closed while node:https was loading, or between retries: a destroyed agent would still open a socket.
      if (this.destroyed) return reject(poolClosed());
      const { url } = request;
      const headers: Record<string, string | number> = request.headers;
      if (request.body !== undefined) headers["content-length"] = Buffer.byteLength(request.body);
      const options: http.RequestOptions = {
        method: request.method,
        headers,
        agent,
        path: url.pathname + url.search,
        ...(request.socketPath ? { socketPath: request.socketPath } : { hostname: url.hostname.replace(/^\[|\]$/g, ""), port: url.port }),
      };
      if (request.signal) options.signal = request.signal;
      // A user and password in the server's URL are its credentials, sent as Basic auth as curl would.
      if (url.username || url.password) options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      const req = transport.request(options, resolve);
      req.on("error", (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while idle (or died holding) fails on first use, with a reset or
        // a broken pipe: the request never reached the server, so it is safe to send again. The pool may hold
        // several such sockets; each one that fails is dropped, so this ends on a fresh connection. Not once the
        // session's connections were closed on purpose.
        if (retries > 0 && !this.destroyed && req.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
          this.attempt(request, { transport, agent }, retries - 1).then(resolve, reject);
          return;
        }
        reject(toUpstreamError(error, url));
      });
      if (request.onWritten) req.on("finish", request.onWritten);
      req.end(request.body);
    });
  }
}

/** Nothing was sent: the session's connections were closed before. */
const poolClosed = () => new UpstreamError("the session's connections are closed", "session-lost", { delivered: false });

/** Sockets carrying a request, and requests waiting for one. */
function inUse(agent: http.Agent): number {
  const count = (lists: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(lists).reduce((sum, list) => sum + (list?.length ?? 0), 0);
  return count(agent.sockets) + count(agent.requests);
}

export function toUpstreamError(error: unknown, url: URL): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  // A TLS handshake that failed: nothing was sent, and sending again fails alike until the URL or the server's
  // certificate is fixed. Refused (the session stays), so each request fails at once with the reason.
  if (url.protocol === "https:" && isTlsFailure(code)) {
    const message = (error as Error).message;
    const why = /wrong version number/.test(message) ? "it does not speak TLS there: is the URL http://?" : message.split("\n")[0];
    return new UpstreamError(`cannot reach ${url.origin}: the TLS handshake failed (${code}: ${why})`, "rejected", { delivered: false });
  }
  const detail = code ?? (error as Error).message;
  // Refused: no connection was made, so the daemon cannot have seen the request.
  const delivered = !(code === "ECONNREFUSED" || code === "ENOENT");
  return new UpstreamError(`cannot reach ${url.origin} (${detail})`, "unreachable", { delivered });
}

/** OpenSSL's and Node's codes for a handshake that did not complete (a plain HTTP server, an untrusted certificate). */
const TLS_FAILURES = new Set([
  "EPROTO",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
]);
const isTlsFailure = (code: string | undefined) =>
  code !== undefined && (TLS_FAILURES.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"));

/** The body of a daemon's answer, as text; one too large to be a sane answer is refused. */
export async function readBody(response: http.IncomingMessage, peer = "daemon", limit = 64 * 1024 * 1024): Promise<string> {
  try {
    return await readBoundedBody(response, limit);
  } catch (error) {
    if (error instanceof BodyTooLarge) throw new UpstreamError(`${peer} answer ${error.message}`, "rejected");
    throw error;
  }
}

/** Drains and discards a body so the keep-alive socket can be reused. */
export function discardBody(response: http.IncomingMessage): void {
  response.resume();
}

export function contentType(response: http.IncomingMessage): string {
  return (response.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}
