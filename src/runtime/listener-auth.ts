import type { IncomingMessage } from "node:http";
import { VERSION } from "../version.js";
import type { HeldToken } from "./home-token.js";
import { CHALLENGE_HEADER, bearerOf, credentialFor, proofFor, randomText, sameSecret, type Identity } from "./identity-proof.js";

/**
 * The gate of a daemon's or the manager's HTTP listeners: it proves who we are to a challenging client, and lets
 * through only requests that carry the home's token or a credential for this instance (identity-proof.ts).
 */
export class ListenerAuth {
  /** New at every start: credentials made for an earlier instance are worth nothing here. */
  readonly instance = randomText();
  private cached?: { token: string; credential: string };

  constructor(
    private readonly token: HeldToken,
    readonly identity: Identity,
  ) {}

  /** Whether the request's `Authorization: Bearer` is the home's token or a credential for this instance. */
  authorizes(request: IncomingMessage): boolean {
    const given = bearerOf(request.headers.authorization);
    if (given === undefined) return false;
    const token = this.token.current();
    if (this.cached?.token !== token) this.cached = { token, credential: credentialFor(token, this.identity, this.instance) };
    // Both compared, always: the time taken does not tell which kind was tried.
    const isToken = sameSecret(given, token);
    const isCredential = sameSecret(given, this.cached.credential);
    return isToken || isCredential;
  }

  /**
   * What `GET /ping` tells a client without a credential: that this is our service and its role, and, to a
   * challenge, the proof of being this home's listener at `where` (`tcp:PORT` or `unix:PATH`). Nothing else.
   */
  introduce(request: IncomingMessage, where: string): Record<string, unknown> {
    const introduction = { service: "mcp-session-manager", role: this.identity.role, name: this.identity.name, version: VERSION };
    const challenge = request.headers[CHALLENGE_HEADER];
    return { ...introduction, ...this.answer(challenge, where) };
  }

  /** The proof of being this home's listener at `where`, for a challenge of a sensible length. */
  answer(challenge: unknown, where: string): { instance: string; proof: string } | undefined {
    if (typeof challenge !== "string" || challenge.length < 16 || challenge.length > 256) return undefined;
    return { instance: this.instance, proof: proofFor(this.token.current(), this.identity, where, this.instance, challenge) };
  }
}

/** Where a request reached us, as proofs name it: the TCP port, or the Unix socket's path. */
export function whereReached(request: IncomingMessage, socketPath?: string): string {
  return socketPath !== undefined ? `unix:${socketPath}` : `tcp:${request.socket.localPort}`;
}
