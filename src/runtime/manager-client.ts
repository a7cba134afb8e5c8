import { jsonRequest, type JsonAnswer } from "./json-request.js";
import { readHomeToken } from "./home-token.js";
import { proveListener } from "./prove-listener.js";

/** What `GET /ping` of our manager tells a client that proved it and is authorized. */
export interface ManagerIdentity {
  service: "mcp-session-manager";
  role: "manager";
  version: string;
  pid: number;
  home: string;
  port: number;
}

/** This home's manager, proven, with the credential its API wants. */
export interface ProvenManager extends ManagerIdentity {
  credential: string;
}

export const managerUrl = (port: number, path: string) => new URL(path, `http://127.0.0.1:${port}`);

/**
 * The manager of this home on `port`, once it proved to be that (prove-listener.ts); undefined when none answers
 * there, or a stranger does, or the home has no token yet (so no manager of it ever ran).
 */
export async function pingManager(port: number, home: string, timeoutMs = 1000): Promise<ProvenManager | undefined> {
  const token = readHomeToken(home);
  if (token === undefined) return undefined;
  const proven = await proveListener({ url: managerUrl(port, "/") }, { role: "manager", name: "" }, token, timeoutMs);
  if (!proven) return undefined;
  try {
    const answer = await jsonRequest(managerUrl(port, "/ping"), { headers: { authorization: `Bearer ${proven.credential}` }, timeoutMs });
    const identity = answer.body as Partial<ManagerIdentity> | undefined;
    if (answer.status !== 200 || identity?.role !== "manager" || typeof identity.pid !== "number") return undefined;
    return { ...(identity as ManagerIdentity), credential: proven.credential };
  } catch {
    return undefined;
  }
}

/** A call to the proven manager's API, with its credential. */
export function callManager(
  manager: ProvenManager,
  path: string,
  options: { method?: "GET" | "POST"; body?: unknown; timeoutMs: number },
): Promise<JsonAnswer> {
  return jsonRequest(managerUrl(manager.port, path), {
    method: options.method ?? "POST",
    ...(options.body !== undefined ? { body: options.body } : {}),
    timeoutMs: options.timeoutMs,
    headers: { authorization: `Bearer ${manager.credential}` },
  });
}

/** The error sentence of a manager answer. */
export function answerError(answer: JsonAnswer): string {
  const body = answer.body as { error?: unknown } | string | undefined;
  if (body && typeof body === "object" && typeof body.error === "string") return body.error;
  return `the manager answered HTTP ${answer.status}`;
}
