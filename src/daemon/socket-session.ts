import type { Socket } from "node:net";
import { intake } from "../protocol/intake.js";
import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import { HandshakeGate } from "./handshake-gate.js";
import type { SessionActivity } from "./session-activity.js";
import type { Bound, OpenSession } from "./session-registry.js";

/** What a client may leave unread before its session is ended: a proxy that stopped reading is stuck for good. */
const MAX_UNREAD_BYTES = 64 * 1024 * 1024;

/**
 * One session on the daemon's session socket: the connection is the session, messages are lines both ways,
 * in order, exactly as on stdio.
 */
export class SocketSession implements OpenSession {
  private readonly gate = new HandshakeGate();
  bound?: Bound;

  constructor(
    readonly id: string,
    readonly projectPath: string | undefined,
    private readonly socket: Socket,
    readonly activity: SessionActivity,
    readonly drains: boolean,
    private readonly log: (line: string) => void,
    /** Hands a message to the session's backend, binding it at its initialize (SessionRegistry.handle). */
    private readonly handle: (session: OpenSession, message: JsonRpcMessage, text: string) => void,
  ) {}

  /** One line from the client: a message or a batch of them. Nothing is taken once the session has ended. */
  receive(text: string): void {
    if (this.socket.writableEnded) return; // the session has ended: the daemon is stopping
    const parsed = intake(text);
    if (parsed.kind === "parse-error") return this.deliver(parsed.reply);
    for (const item of parsed.items) {
      if (item.kind === "invalid") {
        if (item.reply) this.deliver(item.reply);
        else this.log(`session ${this.id}: ignoring an invalid message (${item.reason})`);
        continue;
      }
      const verdict = this.gate.admit(item);
      if (verdict.pass) this.handle(this, item.message, item.text);
      else if ("reply" in verdict) this.deliver(verdict.reply);
      else this.log(`session ${this.id}: ignoring ${verdict.drop}`);
    }
  }

  deliver(message: JsonRpcMessage, _related?: unknown, text?: string | Buffer[]): void {
    if (this.socket.destroyed) return;
    if (Array.isArray(text)) {
      this.socket.cork();
      for (const chunk of text) this.socket.write(chunk);
      this.socket.write("\n");
      this.socket.uncork();
    } else this.socket.write((text ?? JSON.stringify(message)) + "\n");
    this.activity.answered(message); // counted once on its way
    if (this.socket.writableLength > MAX_UNREAD_BYTES) {
      this.log(`session ${this.id}: the client left ${this.socket.writableLength} bytes unread; closing it`);
      this.socket.destroy();
    }
  }

  /** The connection itself says whether the client is there: never idle while it is open. */
  quietSince(): undefined {
    return undefined; // its proxy holds the connection: it ends when that closes
  }

  close(): void {
    this.socket.end();
  }
}
