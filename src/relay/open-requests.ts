import { ErrorCode, errorResponse, idKey, type JsonRpcMessage, type RequestId } from "../protocol/json-rpc.js";

/**
 * Writes one line to the client: its text, or the bytes it arrived in; `message` is what the line is, when the
 * relay has it parsed (a daemon relaying to its HTTP server delivers messages, and need not parse them again).
 */
export type RelayWrite = (line: string | Buffer[], message?: JsonRpcMessage) => void;

/** Collects the answers to the requests of one client batch (MCP 2025-03-26) into one array. */
export interface Batch {
  waiting: number;
  answers: string[];
}

/** A request the client sent and has not been answered yet. */
export interface Pending {
  id: RequestId;
  method: string;
  batch?: Batch;
  /** The upstream generation the request was sent on; undefined while it waits in the queue. */
  sentOn?: number;
  /** The daemon accepted it and will answer on its event stream (legacy SSE): only a lost session fails it. */
  accepted?: boolean;
}

/**
 * The client's open requests: every answer the client sees carries one of its own ids, and each is written
 * once. Answers to a batch's requests are written together, as one array.
 */
export class OpenRequests {
  private readonly pending = new Map<string, Pending>();
  private idleWaiters: Array<() => void> = [];

  /** `self` names who answers with an error: the program the client sees. */
  constructor(
    private readonly write: RelayWrite,
    private readonly self = "mcp-proxy",
  ) {}

  get size(): number {
    return this.pending.size;
  }

  open(id: RequestId, method: string, batch?: Batch): Pending {
    const entry: Pending = batch ? { id, method, batch } : { id, method };
    this.pending.set(idKey(id), entry);
    return entry;
  }

  get(id: RequestId): Pending | undefined {
    return this.pending.get(idKey(id));
  }

  /** Whether the entry still waits for its answer (not answered, cancelled or failed meanwhile). */
  isOpen(entry: Pending): boolean {
    return this.pending.get(idKey(entry.id)) === entry;
  }

  entries(): Pending[] {
    return [...this.pending.values()];
  }

  /** The client gave up on the request (it cancelled it): nothing is written for it any more. */
  forget(id: RequestId): void {
    const entry = this.pending.get(idKey(id));
    if (!entry) return;
    this.pending.delete(idKey(id));
    // The rest of its batch is still answered, as one array without it.
    if (entry.batch && --entry.batch.waiting === 0 && entry.batch.answers.length > 0) this.write(`[${entry.batch.answers.join(",")}]`);
    this.notifyIfIdle();
  }

  /**
   * Writes the one answer a request gets (its text, or the bytes it arrived in; `message`, the answer parsed, when
   * it was), and forgets the request.
   */
  answer(entry: Pending, line: string | Buffer[], message?: JsonRpcMessage): void {
    if (!this.isOpen(entry)) return;
    this.pending.delete(idKey(entry.id));
    if (entry.batch) this.answerBatch(entry.batch, typeof line === "string" ? line : Buffer.concat(line).toString());
    else this.write(line, message);
    this.notifyIfIdle();
  }

  /** Answers the request with a connection error that says why. */
  fail(entry: Pending, reason: string): void {
    const answer = errorResponse(entry.id, ErrorCode.ConnectionClosed, `${this.self}: ${reason}`);
    this.answer(entry, JSON.stringify(answer), answer);
  }

  /** One answer of a batch; the array is written once every request of the batch has one. */
  answerBatch(batch: Batch, text: string): void {
    batch.answers.push(text);
    batch.waiting -= 1;
    if (batch.waiting === 0) this.write(`[${batch.answers.join(",")}]`);
  }

  /** Resolves once every request the client sent has been answered (stdin closed: finish, then exit). */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIfIdle(): void {
    if (this.pending.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
