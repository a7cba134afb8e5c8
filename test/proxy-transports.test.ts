import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdirSync, realpathSync, symlinkSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { onCleanup, suiteScope } from "./helpers/cleanup.js";
import { ProxyClient, textOf, type Message } from "./helpers/proxy-client.js";
import { startEverything, startFastMcpFixture, type RunningServer } from "./helpers/servers.js";
import { tempDir } from "./helpers/temp-dir.js";

const SAMPLING_ANSWER = { role: "assistant", content: { type: "text", text: "sampled by the test client" }, model: "test-model" };

for (const mode of ["streamableHttp", "sse"] as const) {
  const transport = mode === "sse" ? "sse" : "streamable-http";

  describe(`mcp-proxy over ${transport} to server-everything`, () => {
    // One server for the suite: each test is its own session on it, as separate clients would be.
    const suite = suiteScope();
    let server: RunningServer;
    before(async () => {
      server = await startEverything(suite, mode);
    });

    test("initialize, list tools and call echo", async (t) => {
      const client = new ProxyClient(t, ["--url", server.url, "--transport", transport]);
      const init = await client.initialize();
      assert.equal(init.result.serverInfo.name, "mcp-servers/everything");
      assert.ok(init.result.instructions, "instructions from the InitializeResult are kept");

      const tools = await client.request("tools/list");
      const names = tools.result.tools.map((tool: Message) => tool.name);
      assert.ok(names.includes("echo"), `echo listed among ${names.join(", ")}`);

      const echo = await client.callTool("echo", { message: "hello through the proxy" });
      assert.equal(textOf(echo), "Echo: hello through the proxy");
    });

    test("a URL that is not the server's endpoint: the error says the server answered, and where", async (t) => {
      const wrong = new URL("/wrong", server.url).href;
      const client = new ProxyClient(t, ["--url", wrong, "--transport", transport]);
      const init = await client.request("initialize", {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      });
      assert.match(init.error?.message ?? "", /server answered HTTP 404.*\(is \/wrong the server's MCP endpoint\?\)/);
    });

    test("progress of a long-running tool reaches stdout before its result, with the client's token", async (t) => {
      const client = new ProxyClient(t, ["--url", server.url, "--transport", transport]);
      await client.initialize();
      const id = client.start("tools/call", {
        name: "trigger-long-running-operation",
        arguments: { duration: 0.3, steps: 3 },
        _meta: { progressToken: "tok-1" },
      });
      const result = await client.responseTo(id);
      assert.match(textOf(result), /Long running operation completed/);
      const resultIndex = client.received.indexOf(result);
      const progress = client.received.filter((m) => m.method === "notifications/progress");
      assert.deepEqual(
        progress.map((m) => [m.params.progressToken, m.params.progress]),
        [
          ["tok-1", 1],
          ["tok-1", 2],
          ["tok-1", 3],
        ],
      );
      for (const m of progress) assert.ok(client.received.indexOf(m) < resultIndex, "progress arrives before the result");
    });

    test("a sampling request from the server reaches the client and the client's answer reaches the server", async (t) => {
      const client = new ProxyClient(t, ["--url", server.url, "--transport", transport]);
      const seen: Message[] = [];
      client.onServerRequest = (request) => {
        if (request.method !== "sampling/createMessage") return undefined;
        seen.push(request);
        return SAMPLING_ANSWER;
      };
      await client.initialize({ sampling: {} });
      const result = await client.callTool("trigger-sampling-request", { prompt: "say hi" });
      assert.equal(seen.length, 1);
      assert.match(seen[0]!.params.messages[0].content.text, /say hi/);
      assert.match(textOf(result), /sampled by the test client/);
    });
  });
}

describe("mcp-proxy over legacy SSE in the Python FastMCP flavour (/messages/?session_id=)", () => {
  test("initialize, call a tool, and forward the client's cancellation", async (t) => {
    const server = await startFastMcpFixture(t);
    const client = new ProxyClient(t, ["--url", server.url, "--transport", "sse"]);
    const init = await client.initialize();
    assert.equal(init.result.serverInfo.name, "fastmcp-style-fixture");
    assert.equal(textOf(await client.callTool("echo", { message: "snake_case" })), "Echo: snake_case");

    const slowId = client.start("tools/call", { name: "wait_for_cancel", arguments: {} });
    client.notify("notifications/cancelled", { requestId: slowId, reason: "user pressed Esc" });
    // The server records the cancellation when it aborts the call; ask until it shows up.
    for (;;) {
      const cancelled = JSON.parse(textOf(await client.callTool("cancellations"))) as unknown[];
      if (cancelled.includes(slowId)) break;
    }
    const ping = await client.request("ping");
    assert.deepEqual(ping.result, {});
    assert.ok(!client.received.some((m) => m.id === slowId), "no answer for a request the client cancelled");
  });

  test("sends the canonical project path: CLAUDE_PROJECT_DIR through a symlink, non-ASCII encoded", async (t) => {
    const dir = tempDir(t);
    const project = join(dir, "プロジェクト with space");
    mkdirSync(project);
    const link = join(dir, "link");
    symlinkSync(project, link);
    const server = await startFastMcpFixture(t);
    const client = new ProxyClient(t, ["--url", server.url, "--transport", "sse"], {
      env: { ...process.env, CLAUDE_PROJECT_DIR: link },
    });
    await client.initialize();
    const sent = textOf(await client.callTool("project_path"));
    assert.equal(decodeURIComponent(sent), realpathSync(project));

    const plain = new ProxyClient(t, ["--url", server.url, "--transport", "sse"], {
      cwd: dir,
      env: { ...process.env, CLAUDE_PROJECT_DIR: "" },
    });
    await plain.initialize();
    assert.equal(textOf(await plain.callTool("project_path")), realpathSync(dir), "without CLAUDE_PROJECT_DIR: the cwd, as is");
  });
});

describe("mcp-proxy over plain HTTP POST", () => {
  test("carries requests and answers", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const client = new ProxyClient(t, ["--url", server.url, "--transport", "http"]);
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "plain" })), "Echo: plain");
  });
});

describe("mcp-proxy to a server that wants credentials", () => {
  test("a user and password in --url are sent as Basic auth, decoded; without them the server's 401 is what the client hears", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const target = new URL(server.url);
    const expected = `Basic ${Buffer.from("ann:p@ss word").toString("base64")}`;
    const refused: string[] = [];
    // In front of server-everything: a gate that lets through only the expected credentials, as a hosted server would.
    const gate = http.createServer((request, response) => {
      if (request.headers.authorization !== expected) {
        refused.push(request.headers.authorization ?? "(none)");
        response.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}');
        return;
      }
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on("error", () => response.destroy());
      request.pipe(upstream);
    });
    gate.listen(0, "127.0.0.1");
    await once(gate, "listening");
    onCleanup(t, () => {
      gate.closeAllConnections();
      return new Promise((resolve) => gate.close(resolve));
    });
    const { port } = gate.address() as AddressInfo;

    const client = new ProxyClient(t, ["--url", `http://ann:p%40ss%20word@127.0.0.1:${port}/mcp`]);
    await client.initialize();
    assert.equal(textOf(await client.callTool("echo", { message: "with credentials" })), "Echo: with credentials");
    assert.equal(refused.length, 0, `every request carried them (refused: ${refused.join(", ")})`);

    const stranger = new ProxyClient(t, ["--url", `http://127.0.0.1:${port}/mcp`]);
    const init = await stranger.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.match(init.error?.message ?? "", /server answered HTTP 401/);
    assert.ok(refused.includes("(none)"));
  });
});

describe("mcp-proxy to a URL whose TLS fails", () => {
  test("https:// to a server that speaks plain HTTP: each call fails at once with the reason, none goes round", async (t) => {
    const server = await startEverything(t, "streamableHttp");
    const wrong = new URL(server.url);
    wrong.protocol = "https:";
    const client = new ProxyClient(t, ["--url", wrong.href]);
    const init = await client.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    assert.match(init.error?.message ?? "", /the TLS handshake failed \(EPROTO: it does not speak TLS there: is the URL http:\/\/\?\)/);
    assert.doesNotMatch(init.error?.message ?? "", /may not have completed/);
  });
});
