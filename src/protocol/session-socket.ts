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
