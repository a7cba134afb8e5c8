import { setTimeout as sleep } from "node:timers/promises";
import { shownUrl, type RemoteServer } from "../config/server-config.js";
import { PROJECT_PATH_HEADER, encodeProjectPath, mayKnowProjectPath } from "../protocol/project-path.js";
import { isListening } from "../runtime/port-probe.js";
import { transports } from "../upstream/index.js";
import type { UpstreamTransport } from "../upstream/transport.js";
import { VERSION } from "../version.js";
import type { SessionPort } from "./backend.js";

/** How often the daemon looks whether the server takes connections, however many sessions wait for it. */
const POLL_MS = 100;

/**
 * A server given by URL, as its daemon reaches it: never started or stopped here, only connected to, one HTTP
 * session per daemon session. What the last attempt found is kept for status: a server that does not answer
 * is shown, not hidden behind a running daemon.
 */
export class RemoteServerLink {
  private readonly url: URL;
  private state: "not reached yet" | "answering" | "not answering" = "not reached yet";
  private lastError: string | undefined;
  /** The last look, shared by every session that waits within POLL_MS of it. */
  private look: { at: number; listening: Promise<boolean> } | undefined;

  constructor(
    private readonly server: RemoteServer,
    private readonly log: (line: string) => void,
  ) {
    this.url = new URL(server.url);
  }

  /** An HTTP session of the session's own, once the server takes connections (waited for up to the start timeout). */
  async connect(session: SessionPort): Promise<UpstreamTransport> {
    const deadline = Date.now() + this.server.startTimeoutMs;
    while (!(await this.listening())) {
      if (Date.now() >= deadline) {
        this.state = "not answering";
        this.lastError = `nothing answers at ${this.url.origin} (waited ${this.server.startTimeoutMs} ms)`;
        throw new Error(this.lastError);
      }
      await sleep(POLL_MS);
    }
    this.state = "answering";
    this.lastError = undefined;
    const headers: Record<string, string> = { "user-agent": `mcp-session-manager/${VERSION}` };
    if (session.projectPath && mayKnowProjectPath(this.url)) headers[PROJECT_PATH_HEADER] = encodeProjectPath(session.projectPath);
    return transports[this.server.transport]({
      url: this.url,
      headers,
      peer: "server",
      log: (line) => this.log(`session ${session.id}: ${line}`),
    });
  }

  private listening(): Promise<boolean> {
    const now = Date.now();
    if (!this.look || now - this.look.at >= POLL_MS) this.look = { at: now, listening: isListening(this.url) };
    return this.look.listening;
  }

  status() {
    return {
      state: this.state,
      relaysTo: shownUrl(this.server.url),
      restarts: 0,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
