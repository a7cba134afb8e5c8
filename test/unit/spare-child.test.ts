import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sameSpec, type ChildSpec } from "../../src/daemon/child-connection.js";
import { SessionRouter } from "../../src/daemon/session-router.js";
import { SpareChild } from "../../src/daemon/spare-child.js";
import { FakeChild, INITIALIZE_RESULT, fakeSpawner } from "./helpers/fake-child.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { RecordingSession, settle } from "./helpers/recording-session.js";

const UNUSED_AFTER_MS = 60_000;
const SPEC: ChildSpec = { command: "fake-server", args: ["--x"], env: { A: "1" }, cwd: "/home/u" };

function spare() {
  const clock = new ManualClock();
  const spawner = fakeSpawner();
  const lines: string[] = [];
  const registered = new Set<number>();
  const holder = new SpareChild({
    spawn: spawner.spawn,
    clock,
    log: (line) => lines.push(line),
    unusedAfterMs: UNUSED_AFTER_MS,
    onChildStarted: (pid) => registered.add(pid),
    onChildExited: (pid) => registered.delete(pid),
  });
  return { holder, clock, spawner, lines, registered };
}

describe("spare child: the server is started before the first session comes", () => {
  test("the first session's child is the spare: nothing is written to it before that session's initialize", async () => {
    const { holder, clock, spawner, registered } = spare();
    holder.start(SPEC);
    assert.equal(spawner.children.length, 1);
    const started = spawner.current();
    assert.deepEqual([...registered], [started.pid], "recorded like any child, so a killed daemon's successor stops it");
    assert.equal(started.received.length, 0);
    assert.equal(holder.status()[0]?.state, "waiting");

    const router = new SessionRouter({
      child: {
        spec: { ...SPEC, env: { A: "1" } }, // equal, not the same object
        spawn: holder.spawn,
        clock,
        restart: { limit: 3, backoffMs: 1000 },
        startTimeoutMs: 5000,
        logFile: "/tmp/fake.log",
        log: () => {},
      },
    });
    const session = new RecordingSession();
    router.attach(session);
    router.handle(session, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {} } });
    await settle();
    assert.equal(spawner.children.length, 1, "no second process");
    assert.equal(started.requests("initialize").length, 1);
    assert.deepEqual(session.answer(1).result, INITIALIZE_RESULT);
    assert.deepEqual(holder.status(), [], "no longer a spare");

    clock.advance(UNUSED_AFTER_MS * 2);
    assert.ok(started.alive, "a spare that was taken is not stopped by the spare's timer");
  });

  test("a spec is the same when command, arguments, environment (in any order) and directory are", () => {
    const spec: ChildSpec = { command: "node", args: ["a", "b"], env: { X: "1", Y: "2" }, cwd: "/p" };
    assert.ok(sameSpec(spec, { command: "node", args: ["a", "b"], env: { Y: "2", X: "1" }, cwd: "/p" }));
    for (const other of [
      { ...spec, command: "deno" },
      { ...spec, args: ["a"] },
      { ...spec, args: ["a", "c"] },
      { ...spec, env: { X: "1" } },
      { ...spec, env: { X: "1", Y: "3" } },
      { ...spec, env: { X: "1", Z: "2" } },
      { command: "node", args: ["a", "b"], env: { X: "1", Y: "2" } },
    ]) {
      assert.equal(sameSpec(spec, other), false, JSON.stringify(other));
      assert.equal(sameSpec(other, spec), false, JSON.stringify(other));
    }
  });

  test("it is offered once: a later child is spawned anew", () => {
    const { holder, spawner } = spare();
    holder.start(SPEC);
    const first = holder.spawn(SPEC, () => {});
    const second = holder.spawn(SPEC, () => {});
    assert.equal(first, spawner.children[0]);
    assert.equal(second, spawner.children[1]);
  });

  test("a first child for another directory gets its own process, and the spare is stopped", async () => {
    const { holder, spawner, lines, registered } = spare();
    holder.start(SPEC);
    const spareChild = spawner.current();
    const child = holder.spawn({ ...SPEC, cwd: "/work/project" }, () => {});
    assert.notEqual(child, spareChild);
    await settle();
    assert.equal(spareChild.alive, false);
    assert.ok(!registered.has(spareChild.pid));
    assert.ok(
      lines.some((line) => line.includes("another directory")),
      lines.join("\n"),
    );
  });

  test("a spare nobody takes is stopped after the time it was given; one that dies is forgotten", async () => {
    const { holder, clock, spawner, registered } = spare();
    holder.start(SPEC);
    const idle = spawner.current();
    clock.advance(UNUSED_AFTER_MS - 1);
    assert.ok(idle.alive);
    clock.advance(1);
    await settle();
    assert.equal(idle.alive, false);
    assert.equal(registered.size, 0);

    holder.start(SPEC);
    const dying = spawner.current();
    dying.die();
    assert.equal(registered.size, 0);
    assert.deepEqual(holder.status(), []);
    assert.notEqual(
      holder.spawn(SPEC, () => {}),
      dying,
      "a dead spare is never handed out",
    );
    assert.equal(clock.pending, 0, "no timer left behind");
  });

  test("a spawn that fails leaves no spare, and stop() stops a waiting one", async () => {
    const clock = new ManualClock();
    const failing = new SpareChild({
      spawn: () => {
        throw new Error("spawn EMFILE");
      },
      clock,
      log: () => {},
      unusedAfterMs: UNUSED_AFTER_MS,
    });
    failing.start(SPEC);
    assert.deepEqual(failing.status(), []);

    const { holder, spawner } = spare();
    holder.start(SPEC);
    await holder.stop("the daemon is stopping");
    assert.equal(spawner.current().alive, false);
    assert.deepEqual(holder.status(), []);
  });

  test("a stop under way is waited for by a later stop: the daemon does not exit before its spare is gone", async () => {
    const clock = new ManualClock();
    let finish = () => {};
    const slow = new FakeChild(SPEC, true);
    slow.stop = () => new Promise<void>((resolve) => (finish = () => (slow.die("killed by SIGKILL"), resolve())));
    const holder = new SpareChild({ spawn: () => slow, clock, log: () => {}, unusedAfterMs: UNUSED_AFTER_MS });
    holder.start(SPEC);
    void holder.stop("the daemon is draining");
    let later = false;
    const second = holder.stop("the daemon is stopping").then(() => (later = true));
    await settle();
    assert.equal(later, false, "still in its grace period");
    finish();
    await second;
    assert.equal(slow.alive, false);
    await holder.stop("again"); // nothing left: at once
  });
});
