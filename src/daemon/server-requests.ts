import { randomBytes } from "node:crypto";
import { idKey, type RequestId } from "../protocol/json-rpc.js";
import type { SessionPort } from "./backend.js";

/** A request the child made of a client (sampling, elicitation, roots), handed to one session under an id of ours. */
interface Routed {
  session: SessionPort;
  /** The id the session sees. */
  id: string;
  /** The child's own id for it. */
  childId: RequestId;
}

/**
 * The server->client requests sessions have open. Each gets an id that no other daemon run can issue (a random
 * prefix per run), so a client's late answer to a request of a daemon that has since restarted never matches
 * one of ours; and a session can answer only what it was asked.
 */
export class ServerRequests {
  private readonly open = new Map<string, Routed>();
  private next = 1;

  constructor(private readonly prefix = `srv-${randomBytes(4).toString("hex")}-`) {}

  /** Hands the child's request `childId` to `session`: the id to send it under. */
  route(session: SessionPort, childId: RequestId): string {
    const id = `${this.prefix}${this.next++}`;
    this.open.set(id, { session, id, childId });
    return id;
  }

  /** The session answered `id`: the child's id to pass the answer on under, if this session was asked it. */
  answered(session: SessionPort, id: RequestId): RequestId | undefined {
    const routed = typeof id === "string" ? this.open.get(id) : undefined;
    if (!routed || routed.session !== session) return undefined;
    this.open.delete(routed.id);
    return routed.childId;
  }

  /** The child withdrew its request (`notifications/cancelled`): who was asked, under which id. */
  withdrawn(childId: RequestId): Array<{ session: SessionPort; id: string }> {
    const found = [...this.open.values()].filter((routed) => idKey(routed.childId) === idKey(childId));
    for (const routed of found) this.open.delete(routed.id);
    return found;
  }

  /** The session ended: the child's ids of the requests it will never answer. */
  sessionEnded(session: SessionPort): RequestId[] {
    const found = [...this.open.values()].filter((routed) => routed.session === session);
    for (const routed of found) this.open.delete(routed.id);
    return found.map((routed) => routed.childId);
  }

  /** The child is gone: nothing it asked can be answered any more. */
  clear(): void {
    this.open.clear();
  }
}
