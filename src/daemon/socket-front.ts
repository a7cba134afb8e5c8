import type { Socket } from "node:net";
import { readLines } from "../protocol/line-reader.js";
import { ErrorCode, errorResponse } from "../protocol/json-rpc.js";
import { oversizedRequestId } from "../protocol/oversized-request.js";
import { SESSION_SOCKET_PROTOCOL, type SessionSocketHello, type SessionSocketWelcome } from "../protocol/session-socket.js";
import { VERSION } from "../version.js";
import type { Refusal, SessionRegistry } from "./session-registry.js";
import { SocketSession } from "./socket-session.js";

/** A connection that has not greeted within this long is not one of our proxies: it is closed. */
const GREETING_TIMEOUT_MS = 10_000;

export interface SocketFrontOptions {
  sessions: SessionRegistry;
  /** Longest line taken, as for HTTP bodies; a request on a longer one is answered with an error. */
  maxLineBytes: number;
  log: (line: string) => void;
}

/** The daemon's session socket (protocol/session-socket.ts): one MCP session per connection. */
export class SocketFront {
  constructor(private readonly options: SocketFrontOptions) {}

  /** Serves one connection: the greeting, then the session's messages until either side closes it. */
  accept(socket: Socket): void {
    const { log } = this.options;
    let session: SocketSession | undefined;
    const timer = setTimeout(() => socket.destroy(), GREETING_TIMEOUT_MS);
    socket.on("error", () => {}); // a client that vanished: 'close' follows
    socket.on("close", () => {
      clearTimeout(timer);
      if (session) this.options.sessions.end(session, "closed its connection");
    });
    readLines(socket, this.options.maxLineBytes, {
      line: (text) => {
        if (session) return session.receive(text);
        if (socket.writableEnded) return; // refused: what follows the greeting is not read
        clearTimeout(timer);
        const opened = this.greet(socket, text);
        if ("refused" in opened) {
          log(`refused a session socket connection: ${opened.refused}`);
          return void socket.end(
            welcome({ protocol: SESSION_SOCKET_PROTOCOL, error: opened.refused, ...(opened.draining ? { retry: true } : {}) }),
          );
        }
        session = opened;
        socket.write(welcome({ protocol: SESSION_SOCKET_PROTOCOL, version: VERSION, session: opened.id }));
      },
      oversized: (length, head, tail) => {
        const message = `message of ${length} bytes exceeds the ${this.options.maxLineBytes}-byte limit`;
        log(`session ${session?.id ?? "(not greeted)"}: dropped a ${message}`);
        const id = oversizedRequestId(head, tail);
        if (session && id !== undefined) session.deliver(errorResponse(id, ErrorCode.InvalidRequest, `Payload too large: ${message}`));
      },
      end: () => socket.end(),
    });
  }

  private greet(socket: Socket, text: string): SocketSession | Refusal {
    let hello: Partial<SessionSocketHello>;
    try {
      hello = JSON.parse(text) as Partial<SessionSocketHello>;
    } catch {
      return { refused: "the first line is not a greeting (JSON expected)", busy: false };
    }
    if (hello?.protocol !== SESSION_SOCKET_PROTOCOL) {
      return {
        refused: `unsupported protocol ${JSON.stringify(hello?.protocol)}; this daemon speaks ${SESSION_SOCKET_PROTOCOL}`,
        busy: false,
      };
    }
    const claimed = typeof hello.projectPath === "string" && hello.projectPath ? hello.projectPath : undefined;
    const opened = this.options.sessions.open(
      claimed,
      (id, projectPath, activity) =>
        new SocketSession(id, projectPath, socket, activity, hello.drains === true, this.options.log, (session, message, text) =>
          this.options.sessions.handle(session, message, text),
        ),
    );
    if ("refused" in opened) return opened;
    this.options.log(`session ${opened.id} opened on the session socket by ${hello.client ?? "a client"}`);
    return opened;
  }
}

const welcome = (value: SessionSocketWelcome) => JSON.stringify(value) + "\n";
