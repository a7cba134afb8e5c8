import type { IncomingMessage } from "node:http";
import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * Reads a `text/event-stream` body event by event. Resolves when the stream ends cleanly,
 * rejects if the connection breaks. Comments (keep-alives) are ignored by the parser.
 */
export function readSse(response: IncomingMessage, onEvent: (event: EventSourceMessage) => void): Promise<void> {
  const parser = createParser({ onEvent });
  response.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    response.on("data", (chunk: string) => parser.feed(chunk));
    response.on("end", () => resolve());
    response.on("error", reject);
    response.on("aborted", () => reject(new Error("event stream aborted")));
    // A socket destroyed under us ends with 'close' and neither 'end' nor 'error'.
    response.on("close", () => {
      if (!response.complete) reject(new Error("event stream closed before it ended"));
    });
  });
}
