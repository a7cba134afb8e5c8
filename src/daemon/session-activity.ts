import { idKey, type JsonRpcMessage, type RequestId } from "../protocol/json-rpc.js";
import type { SessionReport } from "../runtime/daemon-health.js";
import type { FinishedCall } from "./call-stats.js";

/**
 * Requests of one session followed at once: above the daemon's own limit of 1,000 in flight, so that what it
 * refuses for that limit is counted as an error too; past it, a client gone wild is served but not followed.
 */
const MAX_FOLLOWED = 1100;
/** Client-supplied names and messages are cut to this length in reports. */
const MAX_TEXT = 120;
/** In-flight requests a report lists per session (the count says how many there are). */
const LISTED_IN_FLIGHT = 10;

interface Pending {
  id: RequestId;
  method: string;
  tool?: string;
  since: number;
}

/**
 * What one session has asked and been answered: its client, its calls and errors, and what it waits for now.
 * Requests are followed from the moment the session hands them over to the moment their answer is delivered, so
 * the time measured is the client's wait as the daemon sees it.
 */
export class SessionActivity {
  readonly connectedAt: number;
  private lastAsked: number;
  private client: SessionReport["client"];
  private calls = 0;
  private errors = 0;
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly session: string,
    private readonly finished: (call: FinishedCall) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.connectedAt = now();
    this.lastAsked = this.connectedAt;
  }

  /** How long since the client last sent anything. */
  quietFor(): number {
    return this.now() - this.lastAsked;
  }

  /** A message from the client, about to be handled. */
  asked(message: JsonRpcMessage): void {
    this.lastAsked = this.now();
    if (!("method" in message)) return;
    const params = message.params;
    if (message.method === "notifications/cancelled") {
      const requestId = params?.requestId;
      if (typeof requestId === "string" || typeof requestId === "number") this.pending.delete(idKey(requestId));
      return;
    }
    if (!("id" in message) || this.pending.size >= MAX_FOLLOWED) return;
    // The handshake names the client; it is not one of its calls (a proxy replays it after every restart).
    if (message.method === "initialize") return void (this.client = clientOf(params?.clientInfo));
    const tool = message.method === "tools/call" && typeof params?.name === "string" ? cut(params.name) : undefined;
    this.pending.set(idKey(message.id), {
      id: message.id,
      method: cut(message.method),
      ...(tool !== undefined ? { tool } : {}),
      since: this.now(),
    });
  }

  /**
   * A message on its way to the client: an answer ends the request it answers. Whatever shape a server gave it
   * (the intake checks the envelope, not the result), counting it never throws: delivery must not depend on it.
   */
  answered(message: JsonRpcMessage): void {
    if ("method" in message || message.id === null) return;
    const key = idKey(message.id);
    const pending = this.pending.get(key);
    if (!pending) return;
    this.pending.delete(key);
    this.calls += 1;
    const error = "error" in message ? errorText(message.error) : toolError(message.result);
    if (error !== undefined) this.errors += 1;
    this.finished({
      session: this.session,
      method: pending.method,
      ...(pending.tool !== undefined ? { tool: pending.tool } : {}),
      ms: this.now() - pending.since,
      ...(error !== undefined ? { error: cut(error) } : {}),
    });
  }

  /** The requests the session waits for now, by their ids. */
  waitingFor(): RequestId[] {
    return [...this.pending.values()].map((pending) => pending.id);
  }

  report(extra: { project?: string | undefined; child?: string | undefined }): SessionReport {
    const now = this.now();
    return {
      id: this.session,
      ...(this.client ? { client: this.client } : {}),
      ...(extra.project !== undefined ? { project: extra.project } : {}),
      ...(extra.child !== undefined ? { child: extra.child } : {}),
      connectedAt: this.connectedAt,
      calls: this.calls,
      errors: this.errors,
      waiting: this.pending.size,
      // The longest-waiting first: those are the ones someone looks for.
      inFlight: [...this.pending.values()].slice(0, LISTED_IN_FLIGHT).map(({ method, tool, since }) => ({
        method,
        ...(tool !== undefined ? { tool } : {}),
        forMs: now - since,
      })),
    };
  }
}

function clientOf(info: unknown): SessionReport["client"] {
  if (typeof info !== "object" || info === null) return undefined;
  const { name, version } = info as { name?: unknown; version?: unknown };
  if (typeof name !== "string") return undefined;
  return { name: cut(name), ...(typeof version === "string" ? { version: cut(version) } : {}) };
}

/** A JSON-RPC error's message, whatever the server put there. */
function errorText(error: unknown): string {
  const message = typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined;
  return typeof message === "string" ? message : "an error without a message";
}

/** The text a failed tool result (`isError: true`) gives, for the list of recent errors; undefined for any other result. */
function toolError(result: unknown): string | undefined {
  if (typeof result !== "object" || result === null || (result as { isError?: unknown }).isError !== true) return undefined;
  const content = (result as { content?: unknown }).content;
  for (const item of Array.isArray(content) ? (content as unknown[]) : []) {
    if (typeof item !== "object" || item === null) continue;
    const { type, text } = item as { type?: unknown; text?: unknown };
    if (type === "text" && typeof text === "string") return text;
  }
  return "the tool reported an error";
}

function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
