import http from "node:http";
import type https from "node:https";
import { BodyTooLarge, readBoundedBody } from "../http/read-body.js";
import { UpstreamError } from "./upstream-error.js";

/**
 * Requests over node:http rather than fetch: no 300 s headers/body timeout cuts a long tool call,
 * keep-alive sockets are reused across calls, and there is no stream adapter on the hot path.
 */
/**
 * A bound on connections per server all the same: a daemon relaying to an HTTP server holds an event stream per
 * session (at most its `maxSessions`, 500 by default) beside the calls in flight.
 */
const AGENT_OPTIONS: http.AgentOptions = { keepAlive: true, maxSockets: 1024 };
const httpAgent = new http.Agent(AGENT_OPTIONS);
type Transport = { transport: typeof http | typeof https; agent: http.Agent };
const PLAIN: Transport = { transport: http, agent: httpAgent };
/**
 * node:https (with TLS) loads only for a remote https server: our daemons and local servers speak plain HTTP.
 * The promise is kept, so that requests made at once share one agent.
 */
let secure: Promise<Transport> | undefined;
let secureAgent: https.Agent | undefined;

function secureTransport(): Promise<Transport> {
  secure ??= import("node:https").then(({ default: transport }) => {
    secureAgent = new transport.Agent(AGENT_OPTIONS);
    return { transport, agent: secureAgent };
  });
  return secure;
}

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

export function httpRequest(request: HttpRequest): Promise<http.IncomingMessage> {
  // Plain HTTP, every message to our daemon, goes out in this turn: no await on that path.
  if (request.url.protocol !== "https:") return attempt(request, PLAIN, MAX_STALE_SOCKETS);
  return secureTransport().then((secured) => attempt(request, secured, MAX_STALE_SOCKETS));
}

function attempt(request: HttpRequest, { transport, agent }: Transport, retries: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
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
    const req = transport.request(options, resolve);
    req.on("error", (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed while idle (or died holding) fails on first use, with a reset or
      // a broken pipe: the request never reached the server, so it is safe to send again. The pool may hold
      // several such sockets; each one that fails is dropped, so this ends on a fresh connection.
      if (retries > 0 && req.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
        attempt(request, { transport, agent }, retries - 1).then(resolve, reject);
        return;
      }
      reject(toUpstreamError(error, url));
    });
    if (request.onWritten) req.on("finish", request.onWritten);
    req.end(request.body);
  });
}

export function toUpstreamError(error: unknown, url: URL): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const detail = code ?? (error as Error).message;
  // Refused: no connection was made, so the daemon cannot have seen the request.
  const delivered = !(code === "ECONNREFUSED" || code === "ENOENT");
  return new UpstreamError(`cannot reach ${url.origin} (${detail})`, "unreachable", { delivered });
}

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

export function closeIdleSockets(): void {
  httpAgent.destroy();
  secureAgent?.destroy();
}
