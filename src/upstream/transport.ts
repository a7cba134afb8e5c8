import type { JsonRpcMessage, RequestId } from "../protocol/json-rpc.js";

/**
 * The client side of one daemon session. The proxy is a pipe between stdin/stdout and one of these.
 *
 * `send` delivers messages in the order it is called. It resolves once the daemon has taken the message
 * (for a request: once the exchange that carries its response is over) and rejects with an UpstreamError
 * when it could not be delivered. Everything the daemon sends arrives through `onmessage`, in order per stream.
 */
export interface UpstreamTransport {
  /**
   * Our own daemon answers here (proven, or through its socket file in our home): the only peer whose drain notice
   * is obeyed. From any other, a notice by that name is just a notification for the client.
   */
  readonly ownDaemon?: boolean;
  start(): Promise<void>;
  /**
   * `text` is the message as it arrived, when the caller has it: saves serialising it again. `bytes`, when given,
   * are that line as it arrived, for a transport that can send them as they are (a large message).
   */
  send(message: JsonRpcMessage, text?: string, bytes?: Buffer): Promise<void>;
  /**
   * Ends the daemon session (DELETE where the transport has sessions), waiting at most `timeoutMs`; whatever is
   * still in flight on it ends too.
   */
  close(timeoutMs: number): Promise<void>;
  /**
   * The session is given up (lost): nothing more is sent, but requests in flight whose answers come back on
   * their own exchanges may still be answered, and its connections close once they are. `close` ends them at once.
   */
  retire?(): void;
  /**
   * `text` is the message serialised on one line, ready to relay; `bytes`, when given, are the same line as it
   * arrived, to relay instead (a large message: protocol/large-lines.ts).
   */
  onmessage: (message: JsonRpcMessage, text: string, bytes?: Buffer) => void;
  /**
   * A large successful answer to `id`, not parsed (protocol/large-lines.ts), where the transport can tell one:
   * true when it was taken as it is; false to have it parsed and given to `onmessage` as usual.
   */
  onlargeanswer?: (id: RequestId, pieces: Buffer[]) => boolean;
  /** The daemon session is gone without a send to report it (e.g. the event stream broke). */
  onlost: (reason: string) => void;
  /** Stop reading what the daemon sends, and go on; where the transport can hold the daemon back. */
  pause?(): void;
  resume?(): void;
}

export interface UpstreamOptions {
  url: URL;
  /** Reach the daemon through this Unix domain socket rather than TCP, when it offers one. */
  socketPath?: string;
  /** Extra headers on every request (the project path). */
  headers: Record<string, string>;
  /** What answers there, as errors and logs name it: our "daemon" unless said otherwise (a "server"). */
  peer?: string;
  /**
   * The URL is our daemon, proven when this transport was made: when it closes its event stream or stops taking
   * the credential, the daemon that proved itself may be gone (and a stranger on its port), so the session is
   * lost and found again with a new proof, rather than more requests sent there.
   */
  ownDaemon?: boolean;
  log: (line: string) => void;
}

export type TransportFactory = (options: UpstreamOptions) => UpstreamTransport;
