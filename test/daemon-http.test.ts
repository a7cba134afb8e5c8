import assert from "node:assert/strict";
import http from "node:http";
import { describe, test } from "node:test";
import { configuredHome, probeServer } from "./helpers/daemon-home.js";
import { ProxyClient } from "./helpers/proxy-client.js";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(url: URL, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on("error", reject);
    // A server that answers early (413) may close while the body is still being written: the EPIPE that follows
    // the answer is expected, and must not surface as an uncaught error once the request is done.
    request.on("socket", (socket) => socket.on("error", () => {}));
    request.end(body);
  });
}

const JSON_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

/** A daemon for the probe server, started the way users get one: by a proxy. */
async function runningDaemon(t: Parameters<typeof configuredHome>[0], options: Record<string, unknown> = {}) {
  const daemon = configuredHome(t, { probe: probeServer(options) });
  const proxy = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
  await proxy.initialize();
  return { daemon, url: new URL(daemon.lockedUrl("probe")!) };
}

describe("daemon HTTP front", () => {
  test("guards: foreign Origin and non-loopback Host get 403, no CORS header is ever sent", async (t) => {
    const { url } = await runningDaemon(t);
    const foreign = await send(url, "POST", { ...JSON_HEADERS, origin: "https://evil.example" }, INITIALIZE);
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers["access-control-allow-origin"], undefined);
    const rebound = await send(url, "POST", { ...JSON_HEADERS, host: `evil.example:${url.port}` }, INITIALIZE);
    assert.equal(rebound.status, 403);
    const nullOrigin = await send(url, "POST", { ...JSON_HEADERS, origin: "null" }, INITIALIZE);
    assert.equal(nullOrigin.status, 403);
    const local = await send(url, "POST", { ...JSON_HEADERS, origin: `http://localhost:${url.port}` }, INITIALIZE);
    assert.equal(local.status, 200);
    assert.equal(local.headers["access-control-allow-origin"], undefined);
  });

  test("sessions: 400 without a session id, 404 for an unknown one, 200 on DELETE, then 404", async (t) => {
    const { url } = await runningDaemon(t);
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
    assert.equal((await send(url, "POST", JSON_HEADERS, ping)).status, 400);
    assert.equal((await send(url, "POST", { ...JSON_HEADERS, "mcp-session-id": "nope" }, ping)).status, 404);
    const init = await send(url, "POST", JSON_HEADERS, INITIALIZE);
    const sessionId = init.headers["mcp-session-id"] as string;
    assert.ok(sessionId);
    assert.equal(JSON.parse(init.body).result.serverInfo.name, "stdio-probe");
    const withSession = { ...JSON_HEADERS, "mcp-session-id": sessionId };
    assert.deepEqual(JSON.parse((await send(url, "POST", withSession, ping)).body), { jsonrpc: "2.0", id: 2, result: {} });
    assert.equal((await send(url, "POST", withSession, INITIALIZE)).status, 400, "initialize twice");
    assert.equal((await send(url, "DELETE", { "mcp-session-id": sessionId })).status, 200);
    assert.equal((await send(url, "POST", withSession, ping)).status, 404);
  });

  test("bad requests: unparseable body 400/-32700, invalid JSON-RPC 400/-32600, wrong content type 415, oversized 413", async (t) => {
    const { url } = await runningDaemon(t);
    const parse = await send(url, "POST", JSON_HEADERS, "{not json");
    assert.equal(parse.status, 400);
    assert.equal(JSON.parse(parse.body).error.code, -32700);
    const invalid = await send(url, "POST", JSON_HEADERS, JSON.stringify({ jsonrpc: "2.0", id: 5, method: 7 }));
    assert.equal(invalid.status, 400);
    assert.deepEqual(JSON.parse(invalid.body).id, 5);
    assert.equal(JSON.parse(invalid.body).error.code, -32600);
    assert.equal((await send(url, "POST", { "content-type": "text/plain" }, INITIALIZE)).status, 415);
    const huge = await send(
      url,
      "POST",
      JSON_HEADERS,
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "x", params: { a: "x".repeat(33 * 1024 * 1024) } }),
    );
    assert.equal(huge.status, 413);
    assert.equal((await send(url, "PUT", JSON_HEADERS, INITIALIZE)).status, 405);
    assert.equal((await send(new URL("/elsewhere", url), "GET", {})).status, 404);
    const version = await send(url, "POST", { ...JSON_HEADERS, "mcp-protocol-version": "1999-01-01" }, INITIALIZE);
    assert.equal(version.status, 400);
  });

  test("/health names the service, the server, the pid and the children", async (t) => {
    const { daemon, url } = await runningDaemon(t);
    const health = JSON.parse((await send(new URL("/health", url), "GET", {})).body);
    assert.equal(health.service, "mcp-session-manager");
    assert.equal(health.name, "probe");
    assert.equal(health.pid, daemon.lockedPid("probe"));
    assert.equal(health.children[0].state, "ready");
    assert.equal(health.sessions, 1);
  });

  test("a session that goes quiet without DELETE is reaped; its client gets 404 and can start over", async (t) => {
    const { url } = await runningDaemon(t, { sessionIdleTimeoutMs: 1000 });
    const init = await send(url, "POST", JSON_HEADERS, INITIALIZE);
    const sessionId = init.headers["mcp-session-id"] as string;
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
    const withSession = { ...JSON_HEADERS, "mcp-session-id": sessionId };
    // The reaper runs on its own timer; wait for its verdict, asking the daemon rather than sleeping blind.
    let status = 200;
    while (status === 200) {
      const health = JSON.parse((await send(new URL("/health", url), "GET", {})).body) as { sessions: number };
      if (health.sessions > 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      status = (await send(url, "POST", withSession, ping)).status;
    }
    assert.equal(status, 404);
  });
});
