import { intake, invalidRequest, type Incoming } from "../protocol/intake.js";
import { oversizedRequestId } from "../protocol/oversized-line.js";
import { relayableBytes } from "../protocol/large-lines.js";
import type { Batch, OpenRequests } from "./open-requests.js";

/**
 * What the client writes on stdin, turned into messages by the rules every front shares (protocol/intake.ts):
 * what cannot be parsed or is invalid is answered here when it can be addressed, logged otherwise; a batch's
 * answers are collected into one array; valid messages go on to `forward`.
 */
export class ClientInput {
  constructor(
    private readonly requests: OpenRequests,
    private readonly forward: (item: Incoming, batch?: Batch) => void,
    private readonly write: (line: string) => void,
    private readonly log: (line: string) => void,
  ) {}

  /** One line from stdin (`bytes`: the line as it came). Never throws: bad input is answered or logged, never fatal. */
  line(text: string, bytes?: Buffer): void {
    const parsed = intake(text);
    if (parsed.kind === "parse-error") return this.write(JSON.stringify(parsed.reply));
    if (!parsed.batch) {
      const item = parsed.items[0]!;
      if (item.kind !== "invalid") {
        // Sent on as the bytes it came in when it is large (large-lines.ts); the daemon parses it anyway.
        const relayable = bytes && relayableBytes(text, bytes, item.text);
        return this.forward(relayable ? { ...item, bytes: relayable } : item);
      }
      if (item.reply) return this.write(JSON.stringify(item.reply));
      // Any answer would need `id: null`, which makes clients drop the connection; log it instead.
      return this.log(`ignoring an invalid message without a usable id: ${item.reason}`);
    }
    if (parsed.items.length === 0) return this.log("ignoring an empty batch (no id to answer)");
    const batch: Batch = { waiting: 0, answers: [] };
    const valid: Incoming[] = [];
    for (const item of parsed.items) {
      if (item.kind !== "invalid") {
        if (item.kind === "request") batch.waiting += 1;
        valid.push(item);
      } else if (item.reply) batch.answers.push(JSON.stringify(item.reply));
      else this.log(`ignoring an invalid message in a batch: ${item.reason}`);
    }
    // Every request is counted first, so an answer that arrives at once cannot complete the batch early.
    for (const item of valid) this.forward(item, batch);
    if (batch.waiting === 0 && batch.answers.length > 0) this.write(`[${batch.answers.join(",")}]`);
  }

  /** A line too long to buffer: answered when it is certainly a request and its id can be read. */
  oversized(length: number, head: string, tail: string, limit: number): void {
    const id = oversizedRequestId(head, tail);
    const message = `message of ${length} bytes exceeds the ${limit}-byte limit`;
    this.log(`dropped a ${message}`);
    if (id !== undefined) this.write(JSON.stringify(invalidRequest(id, message)));
  }

  /** Answers a request on the spot, in its batch when it came in one. */
  answer(text: string, batch?: Batch): void {
    if (batch) this.requests.answerBatch(batch, text);
    else this.write(text);
  }
}
