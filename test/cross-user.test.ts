import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { within } from "./helpers/bounded.js";
import { configuredHome, probeServer } from "./helpers/daemon-home.js";
import { startManager } from "./helpers/manager.js";
import { exited, freePort, killTree, spawnTracked, waitForOutput } from "./helpers/processes.js";
import { onCleanup } from "./helpers/cleanup.js";
import { ProxyClient, textOf } from "./helpers/proxy-client.js";
import { tempDir } from "./helpers/temp-dir.js";
import type { TestContext } from "node:test";

// These run as a second Unix user, made for the test and removed after it: that needs root (CI runs as root).
const NOT_ROOT = process.getuid?.() === 0 ? false : "skipped: creating a second Unix user needs root (CI runs as root)";

interface User {
  name: string;
  uid: number;
  gid: number;
}

/** Runs `code` with node as `user`, in `/`, and returns what it printed as JSON. */
async function runAs(t: TestContext, user: User, code: string, env: Record<string, string>): Promise<any> {
  const child = spawnTracked(t, process.execPath, ["--input-type=module", "-e", code], {
    uid: user.uid,
    gid: user.gid,
    cwd: "/",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const { code: status } = await within(exited(child), "the other user's script to finish");
  assert.equal(status, 0, `the other user's script failed:\n${stderr}`);
  return JSON.parse(stdout);
}

/** What another user tries against a victim's daemon, manager and files, reporting what each attempt got. */
const ATTEMPTS = `
import { readFileSync, readdirSync } from "node:fs";
import net from "node:net";
const { DAEMON, MANAGER, HOME, SOCKET, DATABASE } = process.env;
const seen = {};
const json = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } });
async function record(name, request) {
  try { const answer = await request(); seen[name] = { status: answer.status, body: await answer.text() }; }
  catch (error) { seen[name] = { error: error.code ?? error.cause?.code ?? error.message }; }
}
await record("initialize", () => fetch(DAEMON + "/mcp", { method: "POST", headers: json, body: initialize }));
await record("simple-post", () => fetch(DAEMON + "/mcp", { method: "POST", headers: { "content-type": "text/plain" }, body: initialize }));
await record("health", () => fetch(DAEMON + "/health"));
await record("ping", () => fetch(DAEMON + "/ping"));
await record("status", () => fetch(MANAGER + "/status"));
await record("stop-all", () => fetch(MANAGER + "/stop-all", { method: "POST", headers: json, body: "{}" }));
const attempt = (name, fn) => { try { fn(); seen[name] = "read"; } catch (error) { seen[name] = error.code; } };
attempt("token", () => readFileSync(HOME + "/manager.token"));
attempt("home", () => readdirSync(HOME));
attempt("database", () => readFileSync(DATABASE));
seen.socket = await new Promise((resolve) => {
  const socket = net.connect(SOCKET);
  socket.once("connect", () => { socket.destroy(); resolve("connected"); });
  socket.once("error", (error) => resolve(error.code));
});
process.stdout.write(JSON.stringify(seen));
`;

/** A squatter run by another user: it answers like our daemon, without the proof, and prints each request. */
const SQUATTER = `
import http from "node:http";
const server = http.createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    process.stdout.write(JSON.stringify({ line: request.method + " " + request.url, authorization: request.headers.authorization ?? null, body }) + "\\n");
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ service: "mcp-session-manager", role: "daemon", name: "probe", version: "2", instance: "i", proof: "forged" }));
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("listening\\n"));
`;

describe("another local user", { skip: NOT_ROOT }, () => {
  const user: User = { name: `msm-other-${process.pid}`, uid: 0, gid: 0 };
  before(() => {
    execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user.name]);
    user.uid = Number(execFileSync("id", ["-u", user.name], { encoding: "utf8" }).trim());
    user.gid = Number(execFileSync("id", ["-g", user.name], { encoding: "utf8" }).trim());
  });
  after(() => {
    execFileSync("userdel", [user.name]);
  });

  test("reaches none of your servers or files: 401 on the daemon, names and states on the manager, no token, socket or graph", async (t) => {
    const managerPort = await freePort();
    const memoryPort = await freePort();
    const daemon = configuredHome(t, { memory: { builtin: "memory", port: memoryPort } }, { manager: { port: managerPort } });
    // A project where other users may look, as a checkout in a home directory often is.
    const project = tempDir(t, "msm-project-");
    chmodSync(project, 0o755);
    await startManager(t, daemon, managerPort);
    const client = new ProxyClient(t, ["--target", "memory"], { env: { ...daemon.env, CLAUDE_PROJECT_DIR: project } });
    await client.initialize();
    const secret = `secret-${process.pid}`;
    const written = await client.callTool("create_entities", { entities: [{ name: secret, entityType: "t", observations: ["private"] }] });
    assert.match(textOf(written), new RegExp(secret));

    const seen = await runAs(t, user, ATTEMPTS, {
      DAEMON: `http://127.0.0.1:${memoryPort}`,
      MANAGER: `http://127.0.0.1:${managerPort}`,
      HOME: daemon.home,
      SOCKET: join(daemon.home, "memory.session.sock"),
      DATABASE: join(project, ".claude", "memory.db"),
    });
    assert.equal(seen.initialize.status, 401);
    assert.equal(seen["simple-post"].status, 401, "a browser's simple POST is refused too");
    assert.equal(seen.health.status, 401);
    assert.deepEqual(Object.keys(JSON.parse(seen.ping.body)).sort(), ["name", "role", "service", "version"]);
    assert.deepEqual(JSON.parse(seen.status.body), { daemons: [{ name: "memory", state: "running" }] });
    assert.equal(seen["stop-all"].status, 401);
    assert.doesNotMatch(
      JSON.stringify(seen),
      new RegExp(`${secret}|${daemon.home}|${project}`),
      "nothing of the graph, the home or the project",
    );
    assert.equal(seen.token, "EACCES");
    assert.equal(seen.home, "EACCES");
    assert.equal(seen.socket, "EACCES");
    assert.equal(seen.database, "EACCES", "the project's graph is the user's alone");
    assert.equal(statSync(join(project, ".claude", "memory.db")).mode & 0o077, 0);
    assert.equal(textOf(await client.callTool("read_graph", {})).includes(secret), true, "the victim's session is unaffected");
  });

  test("squatting a daemon's port, it is sent a challenge and nothing else, and the error names it", async (t) => {
    const port = await freePort();
    const squatter = spawnTracked(t, process.execPath, ["--input-type=module", "-e", SQUATTER], {
      uid: user.uid,
      gid: user.gid,
      cwd: "/",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PORT: String(port) },
    });
    let lines = "";
    squatter.stdout!.on("data", (chunk: Buffer) => (lines += chunk.toString()));
    await waitForOutput(squatter.stdout!, (text) => text.includes("listening"), "the squatter to listen");
    const daemon = configuredHome(t, { probe: probeServer({ port }) });
    const client = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
    const answer = await client.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    // Root sees the other user's process; anyone else sees its user (in /proc/net/tcp) alone.
    const who = `(pid ${squatter.pid} \\(.*\\)|a process) of user ${user.name}`;
    assert.match(answer.error?.message ?? "", new RegExp(`port ${port} is in use by ${who}, which is not this home's "probe" daemon`));
    const requests = lines
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { line: string; authorization: string | null; body: string });
    assert.ok(requests.length > 0, "it was challenged");
    for (const request of requests) assert.deepEqual(request, { line: "GET /ping", authorization: null, body: "" });
  });
  test("an HTTP server's port taken by another user once the server starts: reported, and sent nothing", async (t) => {
    const port = await freePort();
    const dir = tempDir(t);
    chmodSync(dir, 0o777);
    const pidFile = join(dir, "squatter.pid");
    const dataFile = join(dir, "squatter.got");
    const fs = `require("node:fs")`;
    const squatter =
      `require("node:net").createServer((socket) => socket.on("data", (data) => ${fs}.appendFileSync(${JSON.stringify(dataFile)}, data)))` +
      `.listen(${port}, "127.0.0.1", () => ${fs}.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)))`;
    // The "server" takes no port itself: another user's process does, just after it started.
    const script =
      `require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(squatter)}], ` +
      `{ detached: true, stdio: "ignore", cwd: "/", uid: ${user.uid}, gid: ${user.gid} }).unref(); setInterval(() => {}, 1000)`;
    const daemon = configuredHome(t, { web: { command: process.execPath, args: ["-e", script], transport: "streamable-http", port } });
    onCleanup(t, () => {
      if (existsSync(pidFile)) killTree(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    });
    const client = new ProxyClient(t, ["--target", "web"], { env: daemon.env });
    const answer = await client.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    const pid = Number(readFileSync(pidFile, "utf8"));
    assert.match(answer.error?.message ?? "", new RegExp(`port ${port} is held by pid ${pid} \\(.*\\) of user ${user.name}, another user`));
    assert.ok(!existsSync(dataFile), "nothing was sent to it");
  });
});
