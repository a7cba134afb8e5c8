import type * as Http from "node:http";
import { createRequire } from "node:module";
import { readBoundedBody } from "../http/read-body.js";

/** Loaded with the first request: a proxy that reaches its daemon over the session socket never needs node:http. */
let http: typeof Http | undefined;
const loadHttp = () => (http ??= createRequire(import.meta.url)("node:http") as typeof Http);

const MAX_ANSWER_BYTES = 1024 * 1024;

export interface JsonAnswer {
  status: number;
  body: unknown;
}

export interface JsonRequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** A Unix socket serving the same HTTP as the URL's port. */
  socketPath?: string;
  timeoutMs: number;
  /** The longest answer taken (1 MiB unless said). */
  maxBytes?: number;
}

/**
 * One small JSON request to a loopback service (a daemon's /health, the manager's API), on a fresh socket and
 * with a deadline: these calls must never hang a proxy or the CLI. Rejects when nothing answers.
 */
export function jsonRequest(url: URL, options: JsonRequestOptions): Promise<JsonAnswer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const request = loadHttp().request(
      url,
      {
        method: options.method ?? "GET",
        agent: false,
        ...(options.socketPath !== undefined ? { socketPath: options.socketPath } : {}),
        headers: {
          ...(payload !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) } : {}),
          ...options.headers,
        },
      },
      (response) => {
        readBoundedBody(response, options.maxBytes ?? MAX_ANSWER_BYTES).then((text) => {
          clearTimeout(timer);
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: the caller sees the text
          }
          resolve({ status: response.statusCode ?? 0, body });
        }, fail);
      },
    );
    const timer = setTimeout(
      () => request.destroy(new Error(`no answer from ${url.origin} within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    request.once("error", fail);
    request.end(payload);
  });
}
