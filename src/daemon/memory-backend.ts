import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Backend, SessionPort } from "./backend.js";
import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import { GRAPH_RESOURCE, createMemoryServer } from "../memory/memory-server.js";
import { StorePool } from "../memory/store-pool.js";
import { databaseFor } from "../memory/database-location.js";

/** Connects one daemon session to its in-process MCP server: what the server sends goes to the session. */
class SessionTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  constructor(private readonly session: SessionPort) {}
  async start(): Promise<void> {}
  async send(message: JSONRPCMessage, options?: { relatedRequestId?: string | number }): Promise<void> {
    const answers = !("method" in message) && "id" in message ? (message.id as string | number) : undefined;
    this.session.deliver(message as JsonRpcMessage, answers ?? options?.relatedRequestId);
  }
  async close(): Promise<void> {
    this.onclose?.();
  }
}

interface Attached {
  server: McpServer;
  transport: SessionTransport;
  database: string;
  subscribed: () => boolean;
}

/**
 * The built-in memory server inside the daemon: every session gets its own MCP server object, bound to the
 * database of the project it named (Mcp-Project-Path), so sessions of one project share a graph and other
 * projects never see it. Writes are serialised by SQLite; a change notifies every subscribed session of that
 * database, whichever session made it.
 */
export class MemoryBackend implements Backend {
  private readonly sessions = new Map<SessionPort, Attached>();
  private readonly stores: StorePool;

  constructor(
    private readonly log: (line: string) => void,
    private readonly home?: string,
  ) {
    this.stores = new StorePool();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  attach(session: SessionPort): void {
    const { file: database, why } = databaseFor(session.projectPath, this.home);
    const store = this.stores.acquire(database);
    const { server, subscribed } = createMemoryServer({ store: () => store, changed: () => this.changed(database) });
    const transport = new SessionTransport(session);
    this.sessions.set(session, { server, transport, database, subscribed });
    void server.connect(transport);
    this.log(`session ${session.id} uses ${database}${why ? ` (not the project's own: ${JSON.stringify(why).slice(1, -1)})` : ""}`);
  }

  detach(session: SessionPort): void {
    const attached = this.sessions.get(session);
    if (!attached) return;
    this.sessions.delete(session);
    void attached.server.close();
    this.stores.release(attached.database);
  }

  handle(session: SessionPort, message: JsonRpcMessage): void {
    this.sessions.get(session)?.transport.onmessage?.(message as JSONRPCMessage);
  }

  private changed(database: string): void {
    for (const attached of this.sessions.values()) {
      if (attached.database === database && attached.subscribed()) {
        void attached.server.server.sendResourceUpdated({ uri: GRAPH_RESOURCE }).catch(() => {});
      }
    }
  }

  status() {
    return { state: "ready", sessions: this.sessions.size, databases: this.stores.files() };
  }

  async stop(): Promise<void> {
    for (const session of [...this.sessions.keys()]) this.detach(session);
    this.stores.closeAll();
  }
}
