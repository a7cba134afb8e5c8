import type { JsonRpcMessage } from "../../../src/protocol/json-rpc.js";
import type { UpstreamTransport } from "../../../src/upstream/transport.js";
import type { UpstreamError } from "../../../src/upstream/upstream-error.js";

/** One upstream session in memory (a daemon's, or a server's): it records what is sent and answers initialize by itself. */
export class FakeUpstream implements UpstreamTransport {
  /** Stands for our own daemon unless told otherwise (then it is a server, whose drain notice is not obeyed). */
  ownDaemon = true;
  onmessage: UpstreamTransport["onmessage"] = () => {};
  onlost: UpstreamTransport["onlost"] = () => {};
  onlargeanswer: UpstreamTransport["onlargeanswer"];
  readonly sent: JsonRpcMessage[] = [];
  /** Makes the next sends fail this way. */
  failWith: UpstreamError | undefined;
  /** Takes the handshake, then fails every other send this way. */
  refuseAfterHandshake: UpstreamError | undefined;
  closed = false;
  /** Given up as lost: nothing more is sent, what is in flight may still answer. */
  retired = false;
  paused = false;
  /** Takes every message and never settles its send nor answers: a server that accepts and then hangs. */
  hangs = false;

  async start(): Promise<void> {}

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.failWith) throw this.failWith;
    const handshake = "method" in message && (message.method === "initialize" || message.method === "notifications/initialized");
    if (this.refuseAfterHandshake && !handshake) throw this.refuseAfterHandshake;
    this.sent.push(message);
    if (this.hangs) return new Promise(() => {});
    if ("method" in message && message.method === "initialize" && "id" in message) {
      queueMicrotask(() =>
        this.answer({
          jsonrpc: "2.0",
          id: message.id,
          result: { protocolVersion: "2025-06-18", capabilities: { tools: { listChanged: true } } },
        }),
      );
    }
  }

  answer(message: JsonRpcMessage): void {
    this.onmessage(message, JSON.stringify(message));
  }

  requests(method: string) {
    return this.sent.filter((m) => "method" in m && "id" in m && m.method === method);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  retire(): void {
    this.retired = true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
