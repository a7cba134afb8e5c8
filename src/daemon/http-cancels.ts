import { idKey, type RequestId } from "../protocol/json-rpc.js";

/** How many ids each set keeps: enough for any client's requests in flight, bounded against a flood. */
const KEEP = 1000;
/** Separate POSTs overtake each other by milliseconds: a cancel waits this long for its request, no longer. */
const EARLY_CANCEL_MS = 10_000;

/**
 * What cancellations mean on one HTTP session, where each message is its own POST and a cancel can overtake the
 * request it cancels. A cancel for a request not seen yet is kept briefly, and the request is dropped when it
 * comes; a cancel for a request already answered changes nothing (its id may be used again); a request whose
 * exchange a cancel closed gets no second answer when the backend answers it anyway.
 */
export class HttpCancels {
  private readonly seen = new Set<string>();
  private readonly early = new Map<string, number>();
  private readonly closed = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A request arrives: false when it was cancelled before it came, and must not run. */
  arrived(id: RequestId): boolean {
    const key = idKey(id);
    const cancelledAt = this.early.get(key);
    this.early.delete(key);
    this.closed.delete(key); // the id is in use again: its answer is wanted
    if (cancelledAt !== undefined && this.now() - cancelledAt < EARLY_CANCEL_MS) return false;
    remember(this.seen, key);
    return true;
  }

  /** A cancel: `closedExchange` says whether it closed the exchange of a request in flight. */
  cancelled(id: RequestId, closedExchange: boolean): void {
    const key = idKey(id);
    if (closedExchange) return remember(this.closed, key);
    if (this.seen.has(key)) return; // answered already: nothing later is affected
    this.early.set(key, this.now());
    if (this.early.size > KEEP) this.early.delete(this.early.keys().next().value!);
  }

  /** Whether an answer for `id` must be dropped: the client cancelled it and its exchange was closed. */
  dropsAnswer(id: RequestId): boolean {
    return this.closed.delete(idKey(id));
  }
}

function remember(set: Set<string>, key: string): void {
  set.delete(key);
  set.add(key);
  if (set.size > KEEP) set.delete(set.values().next().value!);
}
