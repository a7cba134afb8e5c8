import type { ServerResponse } from "node:http";

/** Comments every so often keep clients with idle timers (fetch gives up after 300 s) on a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

/** One JSON-RPC message as an SSE event. */
export const sseMessage = (text: string): string => `event: message\ndata: ${text}\n\n`;

/** Answers with an event stream and keeps it alive; returns the keep-alive timer, to clear when it ends. */
export function openEventStream(response: ServerResponse, headers: Record<string, string>): NodeJS.Timeout {
  response.writeHead(200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
  response.flushHeaders();
  return setInterval(() => response.write(": keep-alive\n\n"), KEEP_ALIVE_MS);
}
