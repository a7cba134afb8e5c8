import { resolve } from "node:path";
import { jsonRequest, type JsonAnswer } from "./json-request.js";
import { readFileSync } from "node:fs";
import { tokenPath } from "../config/paths.js";

/** What `GET /ping` of our manager answers. */
export interface ManagerIdentity {
  service: "mcp-session-manager";
  role: "manager";
  version: string;
  pid: number;
  home: string;
  port: number;
}

export const managerUrl = (port: number, path: string) => new URL(path, `http://127.0.0.1:${port}`);

/** The manager serving this home on `port`, or undefined when none answers there (or something else does). */
export async function pingManager(port: number, home: string, timeoutMs = 1000): Promise<ManagerIdentity | undefined> {
  try {
    const answer = await jsonRequest(managerUrl(port, "/ping"), { timeoutMs });
    const identity = answer.body as Partial<ManagerIdentity> | undefined;
    if (answer.status !== 200 || identity?.service !== "mcp-session-manager" || identity.role !== "manager") return undefined;
    return identity.home !== undefined && resolve(identity.home) === resolve(home) ? (identity as ManagerIdentity) : undefined;
  } catch {
    return undefined;
  }
}

/** The manager's token, for clients of the API (proxies, the CLI); undefined when no manager has made one. */
export function readToken(home: string): string | undefined {
  try {
    return readFileSync(tokenPath(home), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A mutating API call, authorized with the token from the home directory. */
export function callManager(port: number, home: string, path: string, body: unknown, timeoutMs: number): Promise<JsonAnswer> {
  const token = readToken(home);
  return jsonRequest(managerUrl(port, path), {
    method: "POST",
    body,
    timeoutMs,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** The error sentence of a manager answer. */
export function answerError(answer: JsonAnswer): string {
  const body = answer.body as { error?: unknown } | string | undefined;
  if (body && typeof body === "object" && typeof body.error === "string") return body.error;
  return `the manager answered HTTP ${answer.status}`;
}
