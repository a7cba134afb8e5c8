import type { SessionPort } from "./backend.js";

/**
 * Resource subscriptions the child accepted, with the sessions holding each: the child hears the first
 * subscribe to a URI and the last unsubscribe only, so one session's unsubscribe never cuts another's updates.
 */
export class Subscriptions {
  private readonly subscribers = new Map<string, Set<SessionPort>>();

  /** Whether the child holds a subscription to `uri` (some session's, which it accepted). */
  has(uri: string): boolean {
    return this.subscribers.has(uri);
  }

  add(uri: string, session: SessionPort): void {
    const sessions = this.subscribers.get(uri) ?? new Set<SessionPort>();
    sessions.add(session);
    this.subscribers.set(uri, sessions);
  }

  /** True when the child must hear it (the last subscriber left). */
  remove(uri: string, session: SessionPort): boolean {
    const sessions = this.subscribers.get(uri);
    if (!sessions?.delete(session)) return false;
    if (sessions.size > 0) return false;
    this.subscribers.delete(uri);
    return true;
  }

  /** The session ended: the URIs nobody is subscribed to any more. */
  drop(session: SessionPort): string[] {
    return [...this.subscribers.keys()].filter((uri) => this.remove(uri, session));
  }

  of(uri: string): Iterable<SessionPort> {
    return this.subscribers.get(uri) ?? [];
  }

  uris(): string[] {
    return [...this.subscribers.keys()];
  }
}
