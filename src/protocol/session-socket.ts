/**
 * The session socket: how our proxies reach our daemons on the same machine. Each connection to
 * `<home>/<name>.session.sock` is one MCP session, carried as MCP's stdio framing (one JSON-RPC message per
 * line, both ways) after one greeting line each way. Over HTTP each message is a request and a response that both
 * sides build and parse; through this socket a call takes about half as long (docs/benchmarks.md). The connection
 * is the session: closing it ends the session, and a daemon that goes away is noticed at once.
 */

/** Names the protocol and its version in both greetings; a daemon refuses a version it does not speak. */
export const SESSION_SOCKET_PROTOCOL = "mcp-session-manager/session-socket/1";

/** The client's greeting, its first line. */
export interface SessionSocketHello {
  protocol: string;
  /** The client's project directory (what `Mcp-Project-Path` carries over HTTP), not encoded. */
  projectPath?: string;
  /** Who connects, for the daemon's log. */
  client?: string;
  /** The client knows the drain notice (drain-notice.ts): it ends its session itself once it has moved on. */
  drains?: boolean;
}

/** The daemon's answer to the greeting: the session it opened, or why it would not. */
export interface SessionSocketWelcome {
  protocol: string;
  /** The daemon's package version (missing from daemons before 2.0). */
  version?: string;
  session?: string;
  error?: string;
  /** With an error: the daemon is being replaced; the new one is starting and opens sessions. */
  retry?: boolean;
}

/**
 * Version 2 opens with the daemon's proof of who it is (runtime/identity-proof.ts), so that a proxy that found
 * the socket through the lock file alone can trust it without proving it over HTTP first: the client's first
 * line is a challenge, the daemon answers with its proof, and only then does the client greet as in version 1
 * (with this protocol's name). Daemons speak both versions; one of an earlier version refuses version 2 as
 * unknown, having been sent nothing but the challenge.
 */
export const PROVEN_SESSION_SOCKET_PROTOCOL = "mcp-session-manager/session-socket/2";

/** A version 2 client's first line. */
export interface SessionSocketChallenge {
  protocol: string;
  challenge: string;
}

/** A version 2 daemon's answer to the challenge: `proof` is over the socket's path as `unix:PATH`. */
export interface SessionSocketProof {
  protocol: string;
  role: string;
  name: string;
  instance: string;
  proof: string;
  version: string;
}
