import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { refuseNonLoopback } from "../../src/http/loopback-guard.js";
import { PROXY } from "../helpers/paths.js";

interface Pair {
  front: StreamableHTTPServerTransport;
  proxy: StdioClientTransport;
  /** progress token -> the request that carries it, so progress rides that request's stream. */
  progress: Map<string | number, string | number>;
}

/**
 * Lets an HTTP-only test client (the conformance suite) drive mcp-proxy: each HTTP session gets its own
 * mcp-proxy process, and messages are piped both ways unchanged. Built from the SDK's own transports, so the
 * only code under test on this path is the proxy and what stands behind it.
 */
export async function startProxyAdapter(proxyArgs: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; close: () => Promise<void> }> {
  const sessions = new Map<string, Pair>();
  const pairs = new Set<Pair>();
  let port = 0;

  const open = async (): Promise<Pair> => {
    const proxy = new StdioClientTransport({
      command: process.execPath,
      args: [PROXY, ...proxyArgs],
      env: env as Record<string, string>,
      stderr: "ignore",
    });
    const front: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, pair),
    });
    const pair: Pair = { front, proxy, progress: new Map() };
    pairs.add(pair);
    front.onmessage = (message: JSONRPCMessage) => {
      const token =
        "method" in message && "id" in message
          ? (message.params?._meta as { progressToken?: string | number } | undefined)?.progressToken
          : undefined;
      if (token !== undefined && "id" in message && message.id !== undefined) pair.progress.set(token, message.id);
      void proxy.send(message);
    };
    proxy.onmessage = (message: JSONRPCMessage) => {
      const token =
        "method" in message && message.method === "notifications/progress"
          ? (message.params as { progressToken: string | number }).progressToken
          : undefined;
      const related = token === undefined ? undefined : pair.progress.get(token);
      void front.send(message, related === undefined ? undefined : { relatedRequestId: related });
    };
    front.onclose = () => void proxy.close();
    await proxy.start();
    return pair;
  };

  const server = http.createServer((request, response) => {
    const refusal = refuseNonLoopback(request, port);
    if (refusal) return void response.writeHead(403).end(refusal);
    const id = request.headers["mcp-session-id"];
    const existing = typeof id === "string" ? sessions.get(id) : undefined;
    if (typeof id === "string" && !existing) return void response.writeHead(404).end("Session not found");
    void (existing ? Promise.resolve(existing) : open()).then((pair) => pair.front.handleRequest(request, response));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await Promise.all([...pairs].map((pair) => pair.proxy.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
