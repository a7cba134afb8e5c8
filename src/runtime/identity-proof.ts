import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * How a proxy or the CLI tells this home's daemon or manager from whatever else listens where it expects them,
 * before sending it anything that matters (a token, an `initialize`, a project path), and how it then proves
 * itself. Both sides hold the home's token; neither ever sends it:
 *
 * - the client sends a random challenge to `GET /ping`;
 * - the listener answers with a random instance id (new each time it starts) and the HMAC of the token over its
 *   role, its name, where it was reached (a relay to the real one elsewhere answers for another place) and the
 *   challenge;
 * - the client then authorizes with the HMAC of the token over the role, name and instance: a listener that
 *   captured it (after the real one died) can use it nowhere, since no running instance has that id.
 *
 * Hand-made clients (curl) may send the token itself as a bearer instead.
 */
export const CHALLENGE_HEADER = "mcp-session-manager-challenge";

export type Role = "daemon" | "manager";

/** Who a client expects to reach: the manager (name "") or the daemon of one server. */
export interface Identity {
  role: Role;
  name: string;
}

/** What `/ping` answers to a challenge. */
export interface ProofAnswer {
  service: "mcp-session-manager";
  role: Role;
  name: string;
  instance: string;
  proof: string;
}

export const randomText = () => randomBytes(24).toString("base64url");

const hmac = (token: string, parts: string[]) => createHmac("sha256", token).update(parts.join("\n")).digest("base64url");

/** The listener's answer to `challenge`, reached at `where` (`tcp:PORT` or `unix:PATH`). */
export function proofFor(token: string, identity: Identity, where: string, instance: string, challenge: string): string {
  return hmac(token, ["mcp-session-manager proof", identity.role, identity.name, where, instance, challenge]);
}

/** What a client that verified `instance` sends as its bearer. */
export function credentialFor(token: string, identity: Identity, instance: string): string {
  return hmac(token, ["mcp-session-manager client", identity.role, identity.name, instance]);
}

/** Compares two secrets in time that does not depend on where they differ. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer ...` header. */
export function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}
