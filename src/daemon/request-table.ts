import { idKey, type RequestId } from "../protocol/json-rpc.js";
import type { SessionPort } from "./backend.js";

/** A client request forwarded to the shared child under an id of the child's id space. */
export interface Forwarded {
  session: SessionPort;
  /** The id the client chose. */
  id: RequestId;
  /** The id the child sees. */
  childId: number;
  method: string;
  /** The progress token the client chose, and the one the child sees. */
  progress?: { client: string | number; child: string };
  /** False while it waits for the child to be ready; true once written to the child. */
  sent: boolean;
}

/** The requests sessions have open at the child, found by the child's id, by the session's id, or by progress token. */
export class RequestTable {
  private readonly byChildId = new Map<number, Forwarded>();
  private readonly byClientId = new Map<string, Forwarded>();
  private readonly byProgress = new Map<string, Forwarded>();
  private readonly perSession = new Map<SessionPort, number>();

  get size(): number {
    return this.byChildId.size;
  }

  add(entry: Forwarded): void {
    this.byChildId.set(entry.childId, entry);
    this.byClientId.set(clientKey(entry.session, entry.id), entry);
    if (entry.progress) this.byProgress.set(entry.progress.child, entry);
    this.perSession.set(entry.session, this.openFor(entry.session) + 1);
  }

  /** Requests of `session` open at the child. */
  openFor(session: SessionPort): number {
    return this.perSession.get(session) ?? 0;
  }

  /** Whether the entry is still open (not answered, cancelled or failed meanwhile). */
  has(entry: Forwarded): boolean {
    return this.byChildId.get(entry.childId) === entry;
  }

  fromChild(childId: RequestId): Forwarded | undefined {
    return typeof childId === "number" ? this.byChildId.get(childId) : undefined;
  }

  fromClient(session: SessionPort, id: RequestId): Forwarded | undefined {
    return this.byClientId.get(clientKey(session, id));
  }

  byProgressToken(token: unknown): Forwarded | undefined {
    return typeof token === "string" ? this.byProgress.get(token) : undefined;
  }

  delete(entry: Forwarded): void {
    if (!this.has(entry)) return;
    this.byChildId.delete(entry.childId);
    this.byClientId.delete(clientKey(entry.session, entry.id));
    if (entry.progress) this.byProgress.delete(entry.progress.child);
    const open = this.openFor(entry.session) - 1;
    if (open > 0) this.perSession.set(entry.session, open);
    else this.perSession.delete(entry.session);
  }

  entries(): Forwarded[] {
    return [...this.byChildId.values()];
  }

  /** The sessions with a request open at the child. */
  busySessions(): Set<SessionPort> {
    return new Set(this.entries().map((entry) => entry.session));
  }
}

const clientKey = (session: SessionPort, id: RequestId) => `${session.id}\0${idKey(id)}`;
