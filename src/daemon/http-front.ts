import { DRAINING_HEADER, DRAINS_HEADER } from "../protocol/drain-notice.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerConfig } from "../config/server-config.js";
import { BodyTooLarge, readBoundedBody } from "../http/read-body.js";
import { declaresJson } from "../http/json-content-type.js";
import { refuseNonLoopback } from "../http/loopback-guard.js";
import type { ListenerAuth } from "../runtime/listener-auth.js";
import { ErrorCode, type JsonRpcError, type RequestId } from "../protocol/json-rpc.js";
import { intake, type Incoming } from "../protocol/intake.js";
import { PROJECT_PATH_HEADER, SEQUENCE_HEADER, decodeProjectPath } from "../protocol/project-path.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { VERSION } from "../version.js";
import { Exchange } from "./exchange.js";
import type { ScopePool } from "./scope-pool.js";
import { Session } from "./session.js";
import type { Refusal, SessionRegistry } from "./session-registry.js";

const MAX_BATCH = 100;

export interface FrontOptions {
  server: ServerConfig;
  auth: ListenerAuth;
  pool: ScopePool;
  /** What the daemon learned about its server (status shows it). */
  learned: () => Record<string, unknown>;
  sessions: SessionRegistry;
  port: () => number;
  path: string;
  maxBodyBytes: number;
  log: (line: string) => void;
  /** Starts a drain (POST /drain): when it returns, the daemon listens no more and its lock is gone. */
  drain: (reason: string) => void;
  /** False for an HTTP server's daemon: its server holds the port a new daemon needs, so it is stopped instead. */
  canDrain: boolean;
  /** Whether a drain has begun: connections are then not kept alive (another daemon may hold our port next). */
  draining: () => boolean;
}

/**
 * The daemon's streamable HTTP endpoint (MCP 2025-03-26 .. 2025-11-25) on 127.0.0.1 and on a Unix socket:
 * sessions by `Mcp-Session-Id`, answers as JSON or SSE, a GET stream per session, DELETE to end one,
 * `/health`, `/activity` (each session's calls, for status), and `POST /drain` (the daemon is being replaced: see
 * main.ts). All of it wants the home's token or a credential (runtime/listener-auth.ts); only `/ping` answers
 * without, so that a proxy can tell our daemon from a stranger on the port before it sends anything.
 */
export class DaemonFront {
  private readonly startedAt = Date.now();

  constructor(private readonly options: FrontOptions) {}

  /** Serves one request that reached us at `where` (`tcp:PORT` or `unix:PATH`, as proofs name it). */
  handle(request: IncomingMessage, response: ServerResponse, where: string): void {
    if (this.options.draining()) response.setHeader("connection", "close");
    const refusal = refuseNonLoopback(request, this.options.port());
    if (refusal) return sendError(response, 403, ErrorCode.ConnectionClosed, `Forbidden: ${refusal}`);
    const path = (request.url ?? "/").split("?")[0];
    const { auth } = this.options;
    if (path === "/ping" && request.method === "GET") {
      return void response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(auth.introduce(request, where)));
    }
    if (!auth.authorizes(request)) {
      response.setHeader("www-authenticate", "Bearer");
      return sendError(response, 401, ErrorCode.ConnectionClosed, "Unauthorized: send the home's token (manager.token) as a bearer");
    }
    if (path === "/health" && request.method === "GET") return this.health(response);
    if (path === "/activity" && request.method === "GET") {
      // Apart from /health, which stays small: supervision must never mistake a busy daemon for a dead one.
      return void response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(this.options.sessions.report()));
    }
    if (path === "/drain" && request.method === "POST") {
      if (!this.options.canDrain) {
        return sendError(response, 409, ErrorCode.InvalidRequest, "this daemon's HTTP server holds its port: stop it, then start it");
      }
      // Who asks is proven by the credential; why is theirs to say, cut short and kept to one line for the log.
      const reason = String(request.headers["x-drain-reason"] ?? "asked over HTTP").slice(0, 200);
      try {
        this.options.drain(reason);
      } catch (error) {
        return sendError(response, 500, ErrorCode.InternalError, (error as Error).message);
      }
      return void response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ draining: true }));
    }
    if (path !== this.options.path) return sendError(response, 404, ErrorCode.MethodNotFound, `Not found: ${path}`);
    switch (request.method) {
      case "POST":
        return void this.post(request, response).catch((error: Error) => {
          this.options.log(`error handling a POST: ${error.stack ?? error.message}`);
          if (!response.headersSent) sendError(response, 500, ErrorCode.InternalError, "Internal error");
        });
      case "GET":
        return this.get(request, response);
      case "DELETE":
        return this.delete(request, response);
      default:
        response.writeHead(405, { allow: "GET, POST, DELETE" }).end();
    }
  }

  private health(response: ServerResponse): void {
    const body = JSON.stringify({
      service: "mcp-session-manager",
      role: "daemon",
      name: this.options.server.name,
      version: VERSION,
      pid: process.pid,
      uptimeMs: Date.now() - this.startedAt,
      sessions: this.options.sessions.size,
      children: this.options.pool.status(),
      learned: this.options.learned(),
    });
    response.writeHead(200, { "content-type": "application/json" }).end(body);
  }

  private async post(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!declaresJson(request)) {
      return sendError(response, 415, ErrorCode.InvalidRequest, "Content-Type must be application/json");
    }
    const version = request.headers["mcp-protocol-version"];
    if (typeof version === "string" && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return sendError(response, 400, ErrorCode.InvalidRequest, `Unsupported MCP-Protocol-Version: ${version}`);
    }
    let body: string;
    try {
      body = await readBoundedBody(request, this.options.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) return sendError(response, 413, ErrorCode.InvalidRequest, `Payload too large: ${error.message}`);
      throw error;
    }
    const parsed = intake(body);
    if (parsed.kind === "parse-error") return sendJson(response, 400, parsed.reply);
    const { batch, items } = parsed;
    if (items.length === 0 || items.length > MAX_BATCH) {
      return sendError(response, 400, ErrorCode.InvalidRequest, `a batch holds 1 to ${MAX_BATCH} messages`);
    }
    const messages: Incoming[] = [];
    for (const item of items) {
      if (item.kind === "invalid")
        return item.reply
          ? sendJson(response, 400, item.reply)
          : sendError(response, 400, ErrorCode.InvalidRequest, `Invalid request: ${item.reason}`);
      messages.push(item);
    }

    const sessionHeader = request.headers["mcp-session-id"];
    const initialize = messages.some(({ message }) => "method" in message && message.method === "initialize");
    let session: Session;
    const headers: Record<string, string> = {};
    if (typeof sessionHeader !== "string") {
      if (!initialize || messages.length !== 1) {
        return sendError(response, 400, ErrorCode.ConnectionClosed, "Bad Request: Mcp-Session-Id header is required");
      }
      const created = this.createSession(request);
      if ("refused" in created) {
        if (created.busy) response.setHeader("retry-after", created.draining ? "0" : "5");
        if (created.draining) response.setHeader(DRAINING_HEADER, "1");
        return sendError(
          response,
          created.busy ? 503 : 400,
          created.busy ? ErrorCode.InternalError : ErrorCode.InvalidRequest,
          created.refused,
        );
      }
      session = created;
      headers["mcp-session-id"] = session.id;
    } else {
      const found = this.options.sessions.get(sessionHeader);
      if (!(found instanceof Session)) return sendError(response, 404, -32001, "Session not found");
      // A lone request the handshake rule refuses is an HTTP error too, as for any other malformed POST.
      const refusal = messages.length === 1 ? found.gate.judge(messages[0]!) : { pass: true };
      if (!refusal.pass && "reply" in refusal) return sendJson(response, 400, refusal.reply);
      session = found;
    }
    session.lastActivity = Date.now();

    const requestIds: RequestId[] = messages.flatMap(({ message }) => ("method" in message && "id" in message ? [message.id] : []));
    if (requestIds.length === 0) {
      response.writeHead(202, headers).end();
    } else {
      const accept = request.headers.accept ?? "";
      const exchange: Exchange = new Exchange(response, requestIds, batch, accept.includes("text/event-stream"), headers, () =>
        session.forgetExchange(exchange),
      );
      session.expect(exchange, requestIds);
    }
    const handle = () => {
      for (const item of messages) this.receive(session, item);
    };
    const sequence = request.headers[SEQUENCE_HEADER];
    if (typeof sequence === "string") session.inOrder(Number(sequence), handle);
    else handle();
  }

  private receive(session: Session, item: Incoming): void {
    const verdict = session.gate.admit(item);
    if (!verdict.pass) {
      if ("reply" in verdict) return session.deliver(verdict.reply, verdict.reply.id ?? undefined);
      return this.options.log(`session ${session.id}: ignoring ${verdict.drop}`);
    }
    const { message } = item;
    if (item.kind === "request" && "id" in message && message.id !== null && !session.requestArrived(message.id)) return;
    // The gate lets `initialize` through first: that is what the session is bound by.
    this.options.sessions.handle(session, message, item.text);
    if (item.kind === "notification" && "method" in message && message.method === "notifications/cancelled") {
      const requestId = message.params?.requestId;
      if (typeof requestId === "string" || typeof requestId === "number") session.cancelled(requestId);
    }
  }

  private createSession(request: IncomingMessage): Session | Refusal {
    const header = request.headers[PROJECT_PATH_HEADER];
    const claimed = typeof header === "string" && header ? decodeProjectPath(header) : undefined;
    const drains = request.headers[DRAINS_HEADER] === "1";
    return this.options.sessions.open(claimed, (id, projectPath, activity) => new Session(id, projectPath, activity, drains));
  }

  private get(request: IncomingMessage, response: ServerResponse): void {
    if (!(request.headers.accept ?? "").includes("text/event-stream")) {
      return sendError(response, 406, ErrorCode.ConnectionClosed, "Not Acceptable: the GET stream needs Accept: text/event-stream");
    }
    const session = this.sessionOf(request, response);
    if (!session) return;
    if (session.hasStream) return sendError(response, 409, ErrorCode.ConnectionClosed, "Conflict: only one GET stream per session");
    session.lastActivity = Date.now();
    session.openStream(response, {});
  }

  private delete(request: IncomingMessage, response: ServerResponse): void {
    const session = this.sessionOf(request, response);
    if (!session) return;
    this.options.sessions.end(session, "ended by the client");
    response.writeHead(200).end();
  }

  private sessionOf(request: IncomingMessage, response: ServerResponse): Session | undefined {
    const header = request.headers["mcp-session-id"];
    if (typeof header !== "string") {
      sendError(response, 400, ErrorCode.ConnectionClosed, "Bad Request: Mcp-Session-Id header is required");
      return undefined;
    }
    const session = this.options.sessions.get(header);
    if (session instanceof Session) return session;
    sendError(response, 404, -32001, "Session not found");
    return undefined;
  }
}

function sendError(response: ServerResponse, status: number, code: number, message: string): void {
  sendJson(response, status, { jsonrpc: "2.0", id: null, error: { code, message } });
}

function sendJson(response: ServerResponse, status: number, body: JsonRpcError): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
