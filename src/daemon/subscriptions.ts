import type { SessionPort } from "./backend.js";

/**
 * Resource subscriptions of the sessions sharing a child, counted: the child hears the first subscribe to a URI
 * and the last unsubscribe only, so one session's unsubscribe never cuts another's updates.
 */
export class Subscriptions {
  private readonly subscribers = new Map<string, Set<SessionPort>>();

  /** True when the child must hear it (nobody was subscribed). */
  subscribe(uri: string, session: SessionPort): boolean {
    const sessions = this.subscribers.get(uri) ?? new Set<SessionPort>();
    const first = sessions.size === 0;
    sessions.add(session);
    this.subscribers.set(uri, sessions);
    return first;
  }

  /** True when the child must hear it (the last subscriber left). */
  unsubscribe(uri: string, session: SessionPort): boolean {
    const sessions = this.subscribers.get(uri);
    if (!sessions?.delete(session)) return false;
    if (sessions.size > 0) return false;
    this.subscribers.delete(uri);
    return true;
  }

  /** The session ended: the URIs nobody is subscribed to any more. */
  drop(session: SessionPort): string[] {
    return [...this.subscribers.keys()].filter((uri) => this.unsubscribe(uri, session));
  }

  of(uri: string): Iterable<SessionPort> {
    return this.subscribers.get(uri) ?? [];
  }

  uris(): string[] {
    return [...this.subscribers.keys()];
  }
}
