import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { proofFor } from "../src/runtime/identity-proof.js";
import { SessionSocketTransport } from "../src/upstream/session-socket.js";
import { UpstreamError } from "../src/upstream/upstream-error.js";
import { within } from "./helpers/bounded.js";
import { onCleanup } from "./helpers/cleanup.js";
import { tempDir } from "./helpers/temp-dir.js";

/** A Unix socket server that does what `onConnection` says with each connection (a daemon misbehaving). */
async function socketServer(t: TestContext, onConnection: (socket: net.Socket) => void): Promise<string> {
  const path = join(tempDir(t), "x.session.sock");
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    onConnection(socket);
  });
  server.listen(path);
  await once(server, "listening");
  onCleanup(t, async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, "close");
  });
  return path;
}

/** A daemon that opens a session (version 1) at the greeting; `daemonSide` is its end of the connection. */
async function welcomingServer(t: TestContext): Promise<{ path: string; daemonSide: () => net.Socket }> {
  let connection: net.Socket | undefined;
  const path = await socketServer(t, (socket) => {
    connection = socket;
    socket.once("data", () => socket.write(JSON.stringify({ protocol: "mcp-session-manager/session-socket/1", session: "s1" }) + "\n"));
  });
  return { path, daemonSide: () => connection! };
}

function transport(path: string, greetingTimeoutMs = 10_000, proof?: { token: string; name: string }): SessionSocketTransport {
  return new SessionSocketTransport({
    path,
    projectPath: "/a/project",
    client: "test",
    greetingTimeoutMs,
    log: () => {},
    ...(proof ? { proof } : {}),
  });
}

const TOKEN = "a-home-token-of-enough-length-0123456789";
const PROVEN = "mcp-session-manager/session-socket/2";

/** Answers a version 2 challenge as `answer` says, then records every line the client sends after it. */
async function challengedServer(t: TestContext, answer: (challenge: string, path: string) => unknown) {
  const afterProof: string[] = [];
  let socketPath = "";
  let closed!: () => void;
  /** Settles once the client's connection is closed: everything it sent has been read by then. */
  const hungUp = new Promise<void>((resolve) => (closed = resolve));
  socketPath = await socketServer(t, (socket) => {
    socket.once("close", () => closed());
    let answered = false;
    let buffer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (answered) {
          afterProof.push(line);
          socket.write(JSON.stringify({ protocol: PROVEN, session: "s2" }) + "\n");
          continue;
        }
        answered = true;
        const { challenge } = JSON.parse(line) as { challenge: string };
        socket.write(JSON.stringify(answer(challenge, socketPath)) + "\n");
      }
    });
  });
  return { path: socketPath, afterProof, hungUp };
}

async function refusal(start: Promise<void>): Promise<UpstreamError> {
  const error = await start.then(
    () => assert.fail("start() should have failed"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof UpstreamError, String(error));
  return error;
}

describe("mcp-proxy's session socket transport when the daemon misbehaves", () => {
  test("a daemon that accepts but never answers the greeting: start fails after the greeting timeout, to be retried", async (t) => {
    const path = await socketServer(t, () => {});
    const error = await refusal(transport(path, 200).start());
    assert.equal(error.kind, "unreachable");
    assert.equal(error.delivered, false);
    assert.match(error.message, /did not answer the greeting within 200 ms/);
  });

  test("a daemon that refuses the greeting: start fails with its reason, not to be retried", async (t) => {
    const path = await socketServer(t, (socket) => {
      socket.once("data", () =>
        socket.end(JSON.stringify({ protocol: "mcp-session-manager/session-socket/1", error: "no such project" }) + "\n"),
      );
    });
    const error = await refusal(transport(path).start());
    assert.equal(error.kind, "rejected");
    assert.match(error.message, /daemon refused the session: no such project/);
  });

  test("a daemon that hangs up before answering, or no daemon at all: start fails, to be retried", async (t) => {
    const path = await socketServer(t, (socket) => socket.once("data", () => socket.destroy()));
    const hungUp = await refusal(transport(path).start());
    assert.equal(hungUp.kind, "unreachable");
    assert.equal(hungUp.delivered, false);
    const missing = await refusal(transport(join(tempDir(t), "none.sock")).start());
    assert.equal(missing.kind, "unreachable");
    assert.match(missing.message, /ENOENT/);
  });

  test("asked for a proof: a listener that proves to be this home's daemon of the name is greeted, with the project", async (t) => {
    const daemon = await challengedServer(t, (challenge, path) => ({
      protocol: PROVEN,
      role: "daemon",
      name: "probe",
      instance: "i1",
      version: "9",
      proof: proofFor(TOKEN, { role: "daemon", name: "probe" }, `unix:${path}`, "i1", challenge),
    }));
    await transport(daemon.path, 10_000, { token: TOKEN, name: "probe" }).start();
    assert.equal(daemon.afterProof.length, 1);
    assert.deepEqual(JSON.parse(daemon.afterProof[0]!), { protocol: PROVEN, projectPath: "/a/project", client: "test", drains: true });
  });

  test("asked for a proof: a wrong proof, another server's, an empty one or an earlier daemon's refusal is never greeted", async (t) => {
    const proofOf = (token: string, name: string) => (challenge: string, path: string) => ({
      protocol: PROVEN,
      role: "daemon",
      name,
      instance: "i1",
      proof: proofFor(token, { role: "daemon", name }, `unix:${path}`, "i1", challenge),
    });
    const cases: Array<[string, (challenge: string, path: string) => unknown, RegExp]> = [
      ["another home's token", proofOf("another-token-of-enough-length-0123456789", "probe"), /did not prove to be this home's daemon/],
      ["the daemon of another server", proofOf(TOKEN, "other"), /did not answer as the daemon of "probe"/],
      ["an empty proof", () => ({ protocol: PROVEN, role: "daemon", name: "probe", proof: "" }), /did not prove/],
      [
        "a daemon of an earlier version",
        () => ({ protocol: "mcp-session-manager/session-socket/1", error: 'unsupported protocol "mcp-session-manager/session-socket/2"' }),
        /refused the challenge: unsupported protocol/,
      ],
    ];
    for (const [what, answer, reason] of cases) {
      const listener = await challengedServer(t, answer);
      const error = await refusal(transport(listener.path, 10_000, { token: TOKEN, name: "probe" }).start());
      assert.equal(error.kind, "rejected", what);
      assert.match(error.message, reason, what);
      await within(listener.hungUp, `${what}: the client to hang up`);
      assert.deepEqual(listener.afterProof, [], `${what}: nothing sent after the challenge`);
    }
  });

  test("once open: lines in are messages, a send after the daemon hung up is refused as never delivered", async (t) => {
    const { path, daemonSide } = await welcomingServer(t);
    const client = transport(path);
    const received: unknown[] = [];
    client.onmessage = (message) => received.push(message);
    const lost = new Promise<string>((resolve) => (client.onlost = resolve));
    await client.start();
    daemonSide().write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/tools/list_changed" })}\n`);
    daemonSide().end();
    assert.equal(await lost, "the daemon closed the session socket");
    assert.deepEqual(received, [{ jsonrpc: "2.0", method: "notifications/tools/list_changed" }]);
    const error = await refusal(client.send({ jsonrpc: "2.0", id: 1, method: "ping" }));
    assert.equal(error.kind, "session-lost");
    assert.equal(error.delivered, false);
    await client.close(100);
  });

  test("an answer past the line limit (a whole graph of 64 MiB and more) fails its request with the reason", async (t) => {
    const { path, daemonSide } = await welcomingServer(t);
    const client = transport(path);
    const received: Array<Record<string, any>> = [];
    const arrived = new Promise<void>((resolve) => {
      client.onmessage = (message) => {
        received.push(message);
        if (received.length === 2) resolve();
      };
    });
    await client.start();
    const text = "x".repeat(1024 * 1024);
    daemonSide().write('{"jsonrpc":"2.0","id":"graph","result":{"text":"');
    for (let i = 0; i < 65; i++) daemonSide().write(text);
    daemonSide().write('"}}\n');
    daemonSide().write(`${JSON.stringify({ jsonrpc: "2.0", id: 2, result: {} })}\n`);
    await within(arrived, "the error and the next answer");
    assert.equal(received[0]!.id, "graph");
    assert.match(received[0]!.error.message, /answer of \d+ bytes exceeds mcp-proxy's 67108864-byte limit/);
    assert.deepEqual(received[1], { jsonrpc: "2.0", id: 2, result: {} }, "the session goes on");
    await client.close(100);
  });
});
