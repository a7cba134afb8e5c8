import type { IncomingMessage } from "node:http";

/**
 * Whether a request declares a JSON body (`application/json`, parameters such as charset allowed). A browser
 * page cannot send this type to another origin without a preflight, which our listeners never grant; the
 * "simple" types it can send (`text/plain`, forms) are refused before the body is read.
 */
export function declaresJson(request: IncomingMessage): boolean {
  const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json";
}
