import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { answerText } from "./graph-text.js";
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
  await memory.server.connect(new GraphAwareStdio());
  process.stderr.write(`memory server on stdio, database ${file}\n`);
  // The SDK's stdio transport does not notice the end of stdin: the client is gone, so are we.
  process.stdin.on("end", () => {
    store.close();
    process.exit(0);
  });
}

/** The SDK's stdio transport, except that a whole graph's answer is written from the text made once for it. */
class GraphAwareStdio extends StdioServerTransport {
  override send(message: JSONRPCMessage): Promise<void> {
    const text = answerText(message);
    if (text === undefined) return super.send(message);
    return new Promise((resolve) => {
      if (process.stdout.write(`${text}\n`)) resolve();
      else process.stdout.once("drain", resolve);
    });
  }
}
