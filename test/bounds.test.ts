import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { configuredHome, probeServer } from "./helpers/daemon-home.js";
import { httpJson } from "./helpers/manager.js";
import { ProxyClient, textOf } from "./helpers/proxy-client.js";

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});
const PING = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });

describe("what one client or server can take from a daemon is bounded", () => {
  test("a server flooding its stderr: every log file stays under twice logMaxBytes, and only logFiles are kept", async (t) => {
    const maxBytes = 64 * 1024;
    const daemon = configuredHome(t, { probe: probeServer() }, { manager: { logMaxBytes: maxBytes, logFiles: 2 } });
    const client = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    await client.initialize();
    assert.equal(textOf(await client.callTool("stderr_flood", { bytes: 3 * 1024 * 1024 })), "flooded");
    assert.equal(textOf(await client.callTool("echo", { message: "after" })), "after", "the daemon serves on");
    const log = join(daemon.home, "probe.log");
    for (const file of [log, `${log}.1`, `${log}.2`]) {
      assert.ok(existsSync(file), `${file} exists`);
      assert.ok(statSync(file).size <= 2 * maxBytes, `${file} is ${statSync(file).size} bytes, over twice ${maxBytes}`);
    }
    assert.ok(!existsSync(`${log}.3`), "no more than logFiles rotated files");
  });

  test("sessions that never end: the quietest idle one makes room; with none idle, 503 and Retry-After", async (t) => {
    const daemon = configuredHome(t, { probe: probeServer({ maxSessions: 3 }) });
    const proxy = new ProxyClient(t, ["--target", "probe"], { env: daemon.env }); // holds its connection: never idle
    await proxy.initialize();
    const port = Number(new URL(daemon.lockedUrl("probe")!).port);
    const headers = {
      authorization: `Bearer ${daemon.token()}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    const open = async () => {
      const answer = await httpJson(port, "POST", "/mcp", { headers, body: INITIALIZE });
      return { status: answer.status, id: answer.headers["mcp-session-id"] as string | undefined, answer };
    };
    const a = await open();
    const b = await open(); // quiet since later than a (or the same millisecond: then the first opened goes first)
    assert.deepEqual([a.status, b.status], [200, 200]);
    const c = await open();
    assert.equal(c.status, 200, "the limit made room");
    assert.equal(
      (await httpJson(port, "POST", "/mcp", { headers: { ...headers, "mcp-session-id": a.id! }, body: PING })).status,
      404,
      "by ending a, the quietest",
    );
    assert.equal((await httpJson(port, "POST", "/mcp", { headers: { ...headers, "mcp-session-id": b.id! }, body: PING })).status, 200);

    // b and c hold GET streams open: nobody is idle now.
    const streams = [b.id!, c.id!].map((id) =>
      fetch(`http://127.0.0.1:${port}/mcp`, { headers: { ...headers, accept: "text/event-stream", "mcp-session-id": id } }),
    );
    const opened = await Promise.all(streams);
    t.after(() => opened.forEach((response) => void response.body?.cancel()));
    const refused = await open();
    assert.equal(refused.status, 503);
    assert.equal(refused.answer.headers["retry-after"], "5");
    assert.match(JSON.stringify(refused.answer.body), /limit of 3 sessions \(\\"maxSessions\\"\)/);
    assert.equal(textOf(await proxy.callTool("echo", { message: "unaffected" })), "unaffected");
  });
});
