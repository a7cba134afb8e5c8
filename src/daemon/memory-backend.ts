import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Backend, SessionPort } from "./backend.js";
import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import { GRAPH_RESOURCE, createMemoryServer } from "../memory/memory-server.js";
import { readGraphLine } from "../memory/graph-text.js";
import { ReadGraphShortcut } from "../memory/read-graph-shortcut.js";
import { StorePool } from "../memory/store-pool.js";
import { DatabaseUnavailable, type KnowledgeGraphStore } from "../memory/store.js";
import { databaseFor } from "../memory/database-location.js";

/** Connects one daemon session to its in-process MCP server: what the server sends goes to the session. */
class SessionTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  constructor(
    private readonly session: SessionPort,
    private readonly shortcut: ReadGraphShortcut,
  ) {}
  async start(): Promise<void> {}
  async send(message: JSONRPCMessage, options?: { relatedRequestId?: string | number }): Promise<void> {
    this.shortcut.sent(message as JsonRpcMessage);
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
  shortcut: ReadGraphShortcut;
  database: string;
  /** Set once the store opened: a database that could not be opened is tried again at the next call. */
  store?: KnowledgeGraphStore;
  subscribed: () => boolean;
}

/**
 * The built-in memory server inside the daemon: every session gets its own MCP server object, bound to the
 * database of the project it named (Mcp-Project-Path), so sessions of one project share a graph and other
 * projects never see it. Writes are serialised by SQLite; a change notifies every subscribed session of that
 * database, whichever session made it. A database that cannot be opened (damaged, not SQLite, not writable)
 * fails its own sessions' calls with a tool error naming the file and the fix; every other project goes on.
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
    let database: string;
    let unusable: Error | undefined;
    try {
      const choice = databaseFor(session.projectPath, this.home);
      database = choice.file;
      this.log(`session ${session.id} uses ${database}${choice.why ? ` (not the project's own: ${choice.why})` : ""}`);
    } catch (error) {
      database = "";
      unusable = new DatabaseUnavailable(`no memory database can be used for this session: ${(error as Error).message}`);
      this.log(`session ${session.id}: ${unusable.message}`);
    }
    const store = () => {
      if (unusable) throw unusable;
      if (!attached.store) attached.store = this.stores.acquire(database); // throws DatabaseUnavailable
      return attached.store;
    };
    const { server, subscribed } = createMemoryServer({ store, changed: () => this.changed(database) });
    // A whole graph's answer is the bytes made once for that graph (see graph-text.ts); the message beside them
    // only says what it answers, for the session's accounting.
    const shortcut = new ReadGraphShortcut(store, (id, graph) =>
      session.deliver({ jsonrpc: "2.0", id, result: {} }, id, readGraphLine(id, graph)),
    );
    const transport = new SessionTransport(session, shortcut);
    const attached: Attached = { server, transport, shortcut, database, subscribed };
    this.sessions.set(session, attached);
    void server.connect(transport);
    if (!unusable) {
      try {
        store();
      } catch (error) {
        this.log(`session ${session.id}: ${(error as Error).message}`);
      }
    }
  }

  detach(session: SessionPort): void {
    const attached = this.sessions.get(session);
    if (!attached) return;
    this.sessions.delete(session);
    void attached.server.close();
    if (attached.store) this.stores.release(attached.database);
  }

  handle(session: SessionPort, message: JsonRpcMessage): void {
    const attached = this.sessions.get(session);
    if (attached && !attached.shortcut.took(message)) attached.transport.onmessage?.(message as JSONRPCMessage);
  }

  private changed(database: string): void {
    for (const attached of this.sessions.values()) {
      if (attached.database === database && attached.subscribed()) {
        void attached.server.server.sendResourceUpdated({ uri: GRAPH_RESOURCE }).catch(() => {});
      }
    }
  }

  status() {
    // In the daemon's own process: no child to restart.
    return { state: "ready", pid: process.pid, restarts: 0, sessions: this.sessions.size, databases: this.stores.databases() };
  }

  async stop(): Promise<void> {
    for (const session of [...this.sessions.keys()]) this.detach(session);
    this.stores.closeAll();
  }
}
