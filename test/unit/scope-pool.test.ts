import assert from "node:assert/strict";
import { homedir } from "node:os";
import { setImmediate as tick } from "node:timers/promises";
import { test } from "node:test";
import type { Backend } from "../../src/daemon/backend.js";
import { ScopePool } from "../../src/daemon/scope-pool.js";
import { within } from "../helpers/bounded.js";

/** A backend that counts its sessions and says whether (and when) it was stopped. */
function fakeBackend(): Backend & { stopped: boolean; whenStopped: Promise<void> } {
  let sessions = 0;
  let done = () => {};
  const whenStopped = new Promise<void>((resolve) => (done = resolve));
  return {
    stopped: false,
    whenStopped,
    get sessionCount() {
      return sessions;
    },
    attach: () => void sessions++,
    detach: () => void sessions--,
    handle: () => {},
    status: () => ({}),
    async stop() {
      this.stopped = true;
      done();
    },
  };
}

function pool(scope: "shared" | "project", options: { asksClients?: boolean } = {}) {
  const made = new Map<string, ReturnType<typeof fakeBackend>>();
  const created: Array<[string, string | undefined]> = [];
  const scopes = new ScopePool({
    scope,
    childIdleTimeoutMs: 0,
    log: () => {},
    byHandshake: true,
    asksClients: () => options.asksClients ?? false,
    create: (key, cwd) => {
      created.push([key, cwd]);
      const backend = fakeBackend();
      made.set(key, backend);
      return backend;
    },
  });
  return { scopes, made, created };
}

test("a child per scope and handshake, run where it belongs; a server that asks its clients gets one per session", () => {
  const { scopes } = pool("project");
  assert.deepEqual(scopes.keyFor("/p", "s1", "claude-code/2025-06-18/aa"), { key: "project:/p claude-code/2025-06-18/aa", cwd: "/p" });
  assert.notEqual(scopes.keyFor("/p", "s1", "a").key, scopes.keyFor("/p", "s2", "b").key, "another handshake, another child");
  assert.equal(scopes.keyFor("/p", "s1", "a").key, scopes.keyFor("/p", "s2", "a").key, "alike sessions of a project share");
  const shared = pool("shared").scopes;
  assert.deepEqual(shared.keyFor("/p", "s1", "a"), { key: "shared a", cwd: homedir() }, "a shared child runs in no session's project");
  const asking = pool("shared", { asksClients: true }).scopes;
  assert.deepEqual(asking.keyFor("/p", "s1", "a", true), { key: "session:s1", cwd: "/p" });
});

test("idle children stop, but the shared one used last stays warm; a session's own child stops at once", async () => {
  const { scopes, made } = pool("shared");
  const first = scopes.acquire("shared a", undefined);
  const second = scopes.acquire("shared b", undefined);
  const session = { id: "x", deliver: () => {} };
  first.attach(session);
  second.attach(session);
  second.detach(session);
  scopes.released("shared b"); // used last for now: it stays
  await tick();
  assert.equal(made.get("shared b")!.stopped, false);
  first.detach(session);
  scopes.released("shared a"); // now a is the one used last
  await within(made.get("shared b")!.whenStopped, "the other handshake's idle shared child to stop");
  assert.equal(made.get("shared a")!.stopped, false, "the shared child used last stays warm");
  assert.deepEqual(
    scopes.status().map((child) => child.scope),
    ["shared a"],
  );

  const own = scopes.acquire("session:s1", "/p");
  own.attach(session);
  own.detach(session);
  scopes.released("session:s1");
  assert.equal(made.get("session:s1")!.stopped, true, "nobody else can use it: it stops at once");
});

test("once the server asks its clients, clients that can be asked get their own child, others still share", () => {
  const { scopes } = pool("shared", { asksClients: true });
  assert.equal(scopes.keyFor("/p", "s1", "a", true).key, "session:s1");
  assert.equal(scopes.keyFor("/p", "s2", "a", false).key, "shared a", "a client that cannot be asked is never asked");
});

test("where the first child runs is known ahead for a shared server, and for others when the starter named the project", () => {
  const options = { childIdleTimeoutMs: 0, log: () => {}, byHandshake: true, create: () => fakeBackend() };
  const ahead = (scope: "shared" | "project" | "session", extra: { cwd?: string; asksClients?: boolean } = {}) =>
    new ScopePool({ ...options, scope, ...(extra.cwd ? { cwd: extra.cwd } : {}), asksClients: () => extra.asksClients ?? false });
  assert.equal(
    ahead("shared").cwdKnownAhead(() => undefined),
    homedir(),
  );
  assert.equal(
    ahead("shared").cwdKnownAhead(() => "/work/p"),
    homedir(),
    "a shared child never runs in a session's project",
  );
  assert.equal(
    ahead("project").cwdKnownAhead(() => undefined),
    undefined,
    "nobody said which project comes first",
  );
  assert.equal(
    ahead("project").cwdKnownAhead(() => "/work/p"),
    "/work/p",
  );
  assert.equal(
    ahead("session").cwdKnownAhead(() => "/work/p"),
    "/work/p",
  );
  assert.equal(
    ahead("project", { cwd: "/srv/own" }).cwdKnownAhead(() => "/work/p"),
    "/srv/own",
    "the entry's own directory wins",
  );
  assert.equal(
    ahead("shared", { asksClients: true }).cwdKnownAhead(() => "/work/p"),
    "/work/p",
    "each session gets its own child",
  );
  assert.equal(
    ahead("shared", { asksClients: true }).cwdKnownAhead(() => undefined),
    undefined,
  );
});
