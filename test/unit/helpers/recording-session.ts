import type { SessionPort } from "../../../src/daemon/backend.js";
import type { JsonRpcMessage, RequestId } from "../../../src/protocol/json-rpc.js";

let sessions = 0;

/** A client session that records what the daemon core delivers to it. */
export class RecordingSession implements SessionPort {
  readonly id = `session-${++sessions}`;
  readonly delivered: Array<{ message: JsonRpcMessage; related: RequestId | undefined; text?: string | Buffer[] | undefined }> = [];

  constructor(readonly projectPath?: string) {}

  deliver(message: JsonRpcMessage, related?: RequestId, text?: string | Buffer[]): void {
    this.delivered.push({ message, related, text });
  }

  /** The answer delivered for request `id`; fails the test when there is none. */
  answer(id: RequestId): JsonRpcMessage & { result?: Record<string, unknown>; error?: { code: number; message: string } } {
    const found = this.delivered.find(({ message }) => !("method" in message) && "id" in message && message.id === id);
    if (!found) throw new Error(`${this.id} got no answer for ${JSON.stringify(id)}; it got: ${JSON.stringify(this.messages())}`);
    return found.message;
  }

  hasAnswer(id: RequestId): boolean {
    return this.delivered.some(({ message }) => !("method" in message) && "id" in message && message.id === id);
  }

  messages(): JsonRpcMessage[] {
    return this.delivered.map(({ message }) => message);
  }

  /** Messages with this method (notifications and server requests) delivered to the session. */
  withMethod(method: string): Array<JsonRpcMessage & { id?: RequestId; params?: Record<string, unknown> }> {
    return this.messages().filter((message) => "method" in message && message.method === method) as never;
  }
}

/** Lets every queued microtask and promise continuation run (the core's async steps are all promise-based). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
