import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { JsonRpcMessage } from "../protocol/json-rpc.js";
import { readGraphLine } from "./graph-text.js";
import { ReadGraphShortcut } from "./read-graph-shortcut.js";
import { commandProjectDir } from "../protocol/project-path.js";
import { GRAPH_RESOURCE, createMemoryServer } from "./memory-server.js";
import { projectDatabase } from "./database-location.js";
import { KnowledgeGraphStore } from "./store.js";

/**
 * `mcp-manager memory --stdio`: the memory server for one client, without a daemon. The project is `--project`,
 * else `CLAUDE_PROJECT_DIR`, else the working directory, as mcp-proxy decides it.
 */
export async function runMemoryStdio(project?: string): Promise<void> {
  const file = projectDatabase(commandProjectDir(project));
  const store = new KnowledgeGraphStore(file);
  const memory = createMemoryServer({
    store: () => store,
    changed: () => {
      if (memory.subscribed()) void memory.server.server.sendResourceUpdated({ uri: GRAPH_RESOURCE }).catch(() => {});
    },
  });
  // A whole graph's answer is written from the bytes kept for that graph (see graph-text.ts), not through the SDK.
  const shortcut = new ReadGraphShortcut(
    () => store,
    (id, graph) => {
      for (const chunk of readGraphLine(id, graph)) process.stdout.write(chunk);
      process.stdout.write("\n");
    },
  );
  const transport = new ShortcutStdio(shortcut);
  await memory.server.connect(transport);
  // What the client sends passes the shortcut first; the SDK gets the rest.
  const toSdk = transport.onmessage!;
  transport.onmessage = (message) => {
    if (!shortcut.took(message as JsonRpcMessage)) toSdk(message);
  };
  process.stderr.write(`memory server on stdio, database ${file}\n`);
  // The SDK's stdio transport does not notice the end of stdin: the client is gone, so are we.
  process.stdin.on("end", () => {
    store.close();
    process.exit(0);
  });
}

/** The SDK's stdio transport, telling the shortcut what the SDK answered. */
class ShortcutStdio extends StdioServerTransport {
  constructor(private readonly shortcut: ReadGraphShortcut) {
    super();
  }

  override send(message: JSONRPCMessage): Promise<void> {
    this.shortcut.sent(message as JsonRpcMessage);
    return super.send(message);
  }
}
