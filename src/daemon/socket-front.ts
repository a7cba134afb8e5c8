import type { Socket } from "node:net";
import { readLines } from "../protocol/line-reader.js";
import { ErrorCode, errorResponse } from "../protocol/json-rpc.js";
import { oversizedRequestId } from "../protocol/oversized-line.js";
import {
  PROVEN_SESSION_SOCKET_PROTOCOL,
  SESSION_SOCKET_PROTOCOL,
  type SessionSocketChallenge,
  type SessionSocketHello,
  type SessionSocketProof,
  type SessionSocketWelcome,
} from "../protocol/session-socket.js";
import type { ListenerAuth } from "../runtime/listener-auth.js";
import { VERSION } from "../version.js";
import type { Refusal, SessionRegistry } from "./session-registry.js";
import { SocketSession } from "./socket-session.js";

/** A connection that has not greeted within this long is not one of our proxies: it is closed. */
const GREETING_TIMEOUT_MS = 10_000;

export interface SocketFrontOptions {
  sessions: SessionRegistry;
  /** Longest line taken, as for HTTP bodies; a request on a longer one is answered with an error. */
  maxLineBytes: number;
  /** Proves this daemon to clients that challenge it (protocol version 2). */
  auth: ListenerAuth;
  /** The socket's path, which the proof names. */
  path: string;
  log: (line: string) => void;
}

/** The daemon's session socket (protocol/session-socket.ts): one MCP session per connection. */
export class SocketFront {
  constructor(private readonly options: SocketFrontOptions) {}

  /** Serves one connection: the greeting, then the session's messages until either side closes it. */
  accept(socket: Socket): void {
    const { log } = this.options;
    let session: SocketSession | undefined;
    /** The protocol of the greeting still awaited: version 2 once this daemon answered its challenge. */
    let greeting = SESSION_SOCKET_PROTOCOL;
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
        const hello = parseGreeting(text);
        if (greeting === SESSION_SOCKET_PROTOCOL && hello?.protocol === PROVEN_SESSION_SOCKET_PROTOCOL) {
          const proof = this.prove(hello);
          if (!proof) {
            clearTimeout(timer);
            log("refused a session socket connection: its challenge is missing or not 16 to 256 characters");
            return void socket.end(welcome({ protocol: hello.protocol, error: "a challenge of 16 to 256 characters was expected" }));
          }
          greeting = PROVEN_SESSION_SOCKET_PROTOCOL; // the greeting follows, within the same time limit
          return void socket.write(JSON.stringify(proof) + "\n");
        }
        clearTimeout(timer);
        const opened = this.greet(socket, hello, greeting);
        if ("refused" in opened) {
          log(`refused a session socket connection: ${opened.refused}`);
          return void socket.end(welcome({ protocol: greeting, error: opened.refused, ...(opened.draining ? { retry: true } : {}) }));
        }
        session = opened;
        socket.write(welcome({ protocol: greeting, version: VERSION, session: opened.id }));
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

  /** The answer to a version 2 challenge; undefined for a challenge that is not one. */
  private prove(hello: Partial<SessionSocketChallenge>): SessionSocketProof | undefined {
    const { auth, path } = this.options;
    const answer = auth.answer(hello.challenge, `unix:${path}`);
    if (!answer) return undefined;
    return { protocol: PROVEN_SESSION_SOCKET_PROTOCOL, role: auth.identity.role, name: auth.identity.name, ...answer, version: VERSION };
  }

  private greet(
    socket: Socket,
    hello: Partial<SessionSocketHello & SessionSocketChallenge> | undefined,
    protocol: string,
  ): SocketSession | Refusal {
    if (hello === undefined) return { refused: "the first line is not a greeting (JSON expected)", busy: false };
    if (hello.protocol !== protocol) {
      return {
        refused: `unsupported protocol ${JSON.stringify(hello.protocol)}; this daemon speaks ${SESSION_SOCKET_PROTOCOL} and ${PROVEN_SESSION_SOCKET_PROTOCOL}`,
        busy: false,
      };
    }
    // Version 2's greeting is our proxy's, after the proof: it names its project and itself, and challenges once.
    if (
      protocol === PROVEN_SESSION_SOCKET_PROTOCOL &&
      (hello.challenge !== undefined || typeof hello.projectPath !== "string" || typeof hello.client !== "string")
    ) {
      return { refused: "a greeting with the project path and the client, and no second challenge, was expected", busy: false };
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

/** A greeting or challenge line as JSON; undefined when it is not a JSON object. */
function parseGreeting(text: string): Partial<SessionSocketHello & SessionSocketChallenge> | undefined {
  try {
    const value = JSON.parse(text) as Partial<SessionSocketHello & SessionSocketChallenge> | null;
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
