import type { IncomingMessage } from "node:http";

export class BodyTooLarge extends Error {
  override name = "BodyTooLarge";
}

/**
 * Reads a request's or a response's body up to `limit` bytes. A larger one is refused without being buffered:
 * the rest is drained unread, so a server can still answer 413 and a kept-alive socket stays usable.
 */
export function readBoundedBody(message: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(message.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    message.resume();
    return Promise.reject(new BodyTooLarge(`body of ${declared} bytes exceeds ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      message.off("data", onData);
      message.resume();
      reject(new BodyTooLarge(`body exceeds ${limit} bytes`));
    };
    message.on("data", onData);
    message.on("end", () => resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8")));
    message.on("error", reject);
    message.on("aborted", () => reject(new Error("the connection closed mid-body")));
  });
}
