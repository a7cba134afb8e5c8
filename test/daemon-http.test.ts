import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
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

/**
 * A daemon for the probe server, started the way users get one: by a proxy; `call` sends with the home's token,
 * as a hand-made client (curl) that read it would.
 */
async function runningDaemon(t: Parameters<typeof configuredHome>[0], options: Record<string, unknown> = {}) {
  const daemon = configuredHome(t, { probe: probeServer(options) });
  const proxy = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
  await proxy.initialize();
  const authorization = `Bearer ${daemon.token()}`;
  const call = (url: URL, method: string, headers: Record<string, string>, body?: string) =>
    send(url, method, { authorization, ...headers }, body);
  return { daemon, url: new URL(daemon.lockedUrl("probe")!), call };
}

/** The proof and credential of the protocol (docs/security.md), computed here from its description. */
const hmac = (token: string, parts: string[]) => createHmac("sha256", token).update(parts.join("\n")).digest("base64url");

describe("daemon HTTP front", () => {
  test("without the home's token only /ping answers, and it proves the daemon to holders of the token alone", async (t) => {
    const { daemon, url, call } = await runningDaemon(t);
    const token = daemon.token();
    const refused: Array<[string, string, Record<string, string>, string?]> = [
      ["POST", "/mcp", JSON_HEADERS, INITIALIZE],
      // What a browser page may send anywhere without a preflight: a text/plain POST, no Authorization.
      ["POST", "/mcp", { "content-type": "text/plain" }, INITIALIZE],
      ["GET", "/mcp", { accept: "text/event-stream" }],
      ["DELETE", "/mcp", { "mcp-session-id": "x" }],
      ["GET", "/health", {}],
      ["GET", "/elsewhere", {}],
    ];
    for (const [method, path, headers, body] of refused) {
      for (const authorization of [undefined, "Bearer wrong", `Bearer ${token}x`, `Basic ${token}`]) {
        const answer = await send(new URL(path, url), method, { ...headers, ...(authorization ? { authorization } : {}) }, body);
        assert.equal(answer.status, 401, `${method} ${path} with ${authorization ?? "no Authorization"}`);
        assert.doesNotMatch(answer.body, /pid|session|children|\/tmp/, "a refusal tells nothing");
      }
    }
    // With the token, a text/plain body is still refused: only application/json is read.
    assert.equal((await call(url, "POST", { "content-type": "text/plain" }, INITIALIZE)).status, 415);

    const plain = JSON.parse((await send(new URL("/ping", url), "GET", {})).body);
    assert.deepEqual(Object.keys(plain).sort(), ["name", "role", "service", "version"]);
    const challenge = "a-challenge-of-the-test-0123456789";
    const answer = JSON.parse((await send(new URL("/ping", url), "GET", { "mcp-session-manager-challenge": challenge })).body);
    const expected = hmac(token, ["mcp-session-manager proof", "daemon", "probe", `tcp:${url.port}`, answer.instance, challenge]);
    assert.equal(answer.proof, expected, "the proof binds the token, role, name, port, instance and challenge");
    assert.notEqual(
      answer.proof,
      hmac("another home's token", ["mcp-session-manager proof", "daemon", "probe", `tcp:${url.port}`, answer.instance, challenge]),
    );

    const credential = hmac(token, ["mcp-session-manager client", "daemon", "probe", answer.instance]);
    const health = await send(new URL("/health", url), "GET", { authorization: `Bearer ${credential}` });
    assert.equal(health.status, 200, "the credential for this instance works");
    const stale = hmac(token, ["mcp-session-manager client", "daemon", "probe", "an-earlier-instance"]);
    assert.equal(
      (await send(new URL("/health", url), "GET", { authorization: `Bearer ${stale}` })).status,
      401,
      "one for another instance does not",
    );
  });

  test("guards: foreign Origin and non-loopback Host get 403, no CORS header is ever sent", async (t) => {
    const { url, call } = await runningDaemon(t);
    const foreign = await call(url, "POST", { ...JSON_HEADERS, origin: "https://evil.example" }, INITIALIZE);
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers["access-control-allow-origin"], undefined);
    const rebound = await call(url, "POST", { ...JSON_HEADERS, host: `evil.example:${url.port}` }, INITIALIZE);
    assert.equal(rebound.status, 403);
    const nullOrigin = await call(url, "POST", { ...JSON_HEADERS, origin: "null" }, INITIALIZE);
    assert.equal(nullOrigin.status, 403);
    const local = await call(url, "POST", { ...JSON_HEADERS, origin: `http://localhost:${url.port}` }, INITIALIZE);
    assert.equal(local.status, 200);
    assert.equal(local.headers["access-control-allow-origin"], undefined);
  });

  test("sessions: 400 without a session id, 404 for an unknown one, 200 on DELETE, then 404", async (t) => {
    const { url, call } = await runningDaemon(t);
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
    assert.equal((await call(url, "POST", JSON_HEADERS, ping)).status, 400);
    assert.equal((await call(url, "POST", { ...JSON_HEADERS, "mcp-session-id": "nope" }, ping)).status, 404);
    const init = await call(url, "POST", JSON_HEADERS, INITIALIZE);
    const sessionId = init.headers["mcp-session-id"] as string;
    assert.ok(sessionId);
    assert.equal(JSON.parse(init.body).result.serverInfo.name, "stdio-probe");
    const withSession = { ...JSON_HEADERS, "mcp-session-id": sessionId };
    assert.deepEqual(JSON.parse((await call(url, "POST", withSession, ping)).body), { jsonrpc: "2.0", id: 2, result: {} });
    assert.equal((await call(url, "POST", withSession, INITIALIZE)).status, 400, "initialize twice");
    assert.equal((await call(url, "DELETE", { "mcp-session-id": sessionId })).status, 200);
    assert.equal((await call(url, "POST", withSession, ping)).status, 404);
  });

  test("bad requests: unparseable body 400/-32700, invalid JSON-RPC 400/-32600, wrong content type 415, oversized 413", async (t) => {
    const { url, call } = await runningDaemon(t);
    const parse = await call(url, "POST", JSON_HEADERS, "{not json");
    assert.equal(parse.status, 400);
    assert.equal(JSON.parse(parse.body).error.code, -32700);
    const invalid = await call(url, "POST", JSON_HEADERS, JSON.stringify({ jsonrpc: "2.0", id: 5, method: 7 }));
    assert.equal(invalid.status, 400);
    assert.deepEqual(JSON.parse(invalid.body).id, 5);
    assert.equal(JSON.parse(invalid.body).error.code, -32600);
    assert.equal((await call(url, "POST", { "content-type": "text/plain" }, INITIALIZE)).status, 415);
    const huge = await call(
      url,
      "POST",
      JSON_HEADERS,
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "x", params: { a: "x".repeat(33 * 1024 * 1024) } }),
    );
    assert.equal(huge.status, 413);
    assert.equal((await call(url, "PUT", JSON_HEADERS, INITIALIZE)).status, 405);
    assert.equal((await call(new URL("/elsewhere", url), "GET", {})).status, 404);
    const version = await call(url, "POST", { ...JSON_HEADERS, "mcp-protocol-version": "1999-01-01" }, INITIALIZE);
    assert.equal(version.status, 400);
  });

  test("/health names the service, the server, the pid and the children", async (t) => {
    const { daemon, url, call } = await runningDaemon(t);
    const health = JSON.parse((await call(new URL("/health", url), "GET", {})).body);
    assert.equal(health.service, "mcp-session-manager");
    assert.equal(health.name, "probe");
    assert.equal(health.pid, daemon.lockedPid("probe"));
    assert.equal(health.children[0].state, "ready");
    assert.equal(health.sessions, 1);
  });

  test("a session that goes quiet without DELETE is reaped; its client gets 404 and can start over", async (t) => {
    const { url, call } = await runningDaemon(t, { sessionIdleTimeoutMs: 1000 });
    const init = await call(url, "POST", JSON_HEADERS, INITIALIZE);
    const sessionId = init.headers["mcp-session-id"] as string;
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
    const withSession = { ...JSON_HEADERS, "mcp-session-id": sessionId };
    // The reaper runs on its own timer; wait for its verdict, asking the daemon rather than sleeping blind.
    let status = 200;
    while (status === 200) {
      const health = JSON.parse((await call(new URL("/health", url), "GET", {})).body) as { sessions: number };
      if (health.sessions > 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      status = (await call(url, "POST", withSession, ping)).status;
    }
    assert.equal(status, 404);
  });
});
