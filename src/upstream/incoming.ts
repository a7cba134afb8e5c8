import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import { intake } from "../protocol/intake.js";
import { UpstreamError } from "./upstream-error.js";

/**
 * Parses what the daemon sent (one message or a batch) into messages with a newline-free text to relay.
 * The daemon's own text is relayed as is when it is one message on one line: no re-serialising.
 */
export function parseIncoming(data: string, log: (line: string) => void, peer = "daemon"): Array<[JsonRpcMessage, string]> {
  const parsed = intake(data);
  if (parsed.kind === "parse-error") {
    log(`ignoring a message from the ${peer} that is not JSON: ${JSON.stringify(data.slice(0, 200))}`);
    return [];
  }
  const out: Array<[JsonRpcMessage, string]> = [];
  for (const item of parsed.items) {
    if (item.kind === "invalid") log(`ignoring an invalid message from the ${peer} (${item.reason})`);
    else out.push([item.message, item.text]);
  }
  return out;
}

/**
 * Servers built on the SDK's examples answer 400 (not 404) for a session they no longer know;
 * clients treat these texts as "session expired", as Claude Code does.
 */
const SESSION_GONE = /server not initialized|no valid session|mcp-session-id header is required|session not found/i;

export function isSessionGone(status: number, body: string): boolean {
  return status === 404 || (status === 400 && SESSION_GONE.test(body));
}

/** Turns an HTTP error answer into an UpstreamError that says what the daemon said. */
export function rejectionFrom(status: number, body: string, url: URL, peer = "daemon"): UpstreamError {
  // On one line: an error page's HTML would otherwise spread over the client's log.
  let detail = body.replace(/\s+/g, " ").trim().slice(0, 300);
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === "string") detail = parsed.error.message;
  } catch {
    // not JSON: keep the text
  }
  const hint = status === 404 ? ` (is ${url.pathname} the server's MCP endpoint?)` : "";
  return new UpstreamError(`${peer} answered HTTP ${status}${detail ? `: ${detail}` : ""}${hint}`, "rejected", { status });
}
