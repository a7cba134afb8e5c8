import { isOwnSocket } from "../files/own-socket.js";
import { CHALLENGE_HEADER, credentialFor, proofFor, randomText, sameSecret, type Identity, type ProofAnswer } from "./identity-proof.js";
import { jsonRequest } from "./json-request.js";

/** Where a listener is reached: its URL, or a Unix socket serving the same HTTP. */
export interface Endpoint {
  url: URL;
  socketPath?: string;
}

/** A listener that proved to be this home's `identity`, and the credential to send it. */
export interface Proven {
  instance: string;
  credential: string;
}

/**
 * Challenges whatever listens at `endpoint` and returns the credential for it only when it proves to be this
 * home's `identity` there (identity-proof.ts). Nothing but the random challenge is sent before that; a Unix
 * socket is not even connected to unless this user made it. Undefined: silent, or a stranger.
 */
export async function proveListener(endpoint: Endpoint, identity: Identity, token: string, timeoutMs: number): Promise<Proven | undefined> {
  if (endpoint.socketPath !== undefined && !isOwnSocket(endpoint.socketPath)) return undefined;
  const challenge = randomText();
  const where = endpoint.socketPath !== undefined ? `unix:${endpoint.socketPath}` : `tcp:${endpoint.url.port}`;
  try {
    const answer = await jsonRequest(new URL("/ping", endpoint.url), {
      headers: { [CHALLENGE_HEADER]: challenge },
      ...(endpoint.socketPath !== undefined ? { socketPath: endpoint.socketPath } : {}),
      timeoutMs,
    });
    const body = answer.body as Partial<ProofAnswer> | undefined;
    if (answer.status !== 200 || body?.service !== "mcp-session-manager" || typeof body.instance !== "string") return undefined;
    if (body.role !== identity.role || body.name !== identity.name || typeof body.proof !== "string") return undefined;
    if (!sameSecret(body.proof, proofFor(token, identity, where, body.instance, challenge))) return undefined;
    return { instance: body.instance, credential: credentialFor(token, identity, body.instance) };
  } catch {
    return undefined;
  }
}
