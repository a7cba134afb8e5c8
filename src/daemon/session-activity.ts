import { idKey, type JsonRpcMessage, type RequestId } from "../protocol/json-rpc.js";
import type { SessionReport } from "../runtime/daemon-health.js";
import type { FinishedCall } from "./call-stats.js";

/** Requests of one session watched at once; past it, new ones are served but not followed (a client gone wild). */
const MAX_FOLLOWED = 1000;
/** Client-supplied names and messages are cut to this length in reports. */
const MAX_TEXT = 200;

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
  }

  /** A message from the client, about to be handled. */
  asked(message: JsonRpcMessage): void {
    if (!("method" in message)) return;
    const params = message.params;
    if (message.method === "notifications/cancelled") {
      const requestId = params?.requestId;
      if (typeof requestId === "string" || typeof requestId === "number") this.pending.delete(idKey(requestId));
      return;
    }
    if (!("id" in message) || this.pending.size >= MAX_FOLLOWED) return;
    if (message.method === "initialize") this.client = clientOf(params?.clientInfo);
    const tool = message.method === "tools/call" && typeof params?.name === "string" ? cut(params.name) : undefined;
    this.pending.set(idKey(message.id), {
      id: message.id,
      method: cut(message.method),
      ...(tool !== undefined ? { tool } : {}),
      since: this.now(),
    });
  }

  /** A message on its way to the client: an answer ends the request it answers. */
  answered(message: JsonRpcMessage): void {
    if ("method" in message || message.id === null) return;
    const key = idKey(message.id);
    const pending = this.pending.get(key);
    if (!pending) return;
    this.pending.delete(key);
    this.calls += 1;
    const error = "error" in message ? message.error.message : message.result.isError === true ? toolError(message.result) : undefined;
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
      inFlight: [...this.pending.values()].map(({ method, tool, since }) => ({
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

/** The text a failed tool result gives, for the list of recent errors. */
function toolError(result: Record<string, unknown>): string {
  const content = Array.isArray(result.content) ? (result.content as Array<{ type?: unknown; text?: unknown }>) : [];
  const text = content.find((item) => item.type === "text" && typeof item.text === "string")?.text;
  return typeof text === "string" ? text : "the tool reported an error";
}

function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
