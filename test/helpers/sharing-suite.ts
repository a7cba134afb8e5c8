import assert from "node:assert/strict";
import { until, within } from "./bounded.js";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { homedir } from "node:os";
import { describe, test, type TestContext } from "node:test";
import { configuredHome, probeServer, processGroupOf, spareStarted, type DaemonHome, type Route } from "./daemon-home.js";
import { EVERYTHING, PROBE_SERVER } from "./paths.js";
import { isAlive, killTree } from "./processes.js";
import { ProxyClient, textOf, type Message } from "./proxy-client.js";
import { runManagerCli } from "./manager.js";
import { tempDir } from "./temp-dir.js";

type Stats = {
  pid: number;
  cwd: string;
  received: Record<string, number>;
  cancelled: Array<string | number>;
  subscribed: string[];
  unsubscribed: string[];
  active: string[];
  clientName: string;
};

async function stats(client: ProxyClient, daemon: DaemonHome): Promise<Stats> {
  const parsed = JSON.parse(textOf(await client.callTool("stats"))) as Stats;
  daemon.track(parsed.pid);
  return parsed;
}

async function session(
  t: Parameters<typeof configuredHome>[0],
  daemon: DaemonHome,
  target = "probe",
  capabilities: Message = {},
  cwd?: string,
) {
  const client = new ProxyClient(t, ["--target", target], {
    env: { ...daemon.env, CLAUDE_PROJECT_DIR: cwd ?? "" },
    ...(cwd ? { cwd } : {}),
  });
  await client.initialize(capabilities);
  return client;
}

/** A home whose proxies take `route`, and a test that runs over the session socket only. */
function byRoute(route: Route) {
  return {
    home: (t: TestContext, servers: Record<string, unknown>) => configuredHome(t, servers, {}, { route }),
    socketOnly: (name: string, fn: (t: TestContext) => Promise<void>) => {
      if (route === "session socket") void test(name, fn);
    },
  };
}

/**
 * The shared-daemon tests, for proxies reaching the daemon by `route`. Every test runs over the session socket;
 * those whose messages take a path of their own over HTTP (exchanges, the GET stream, cancels closing an exchange,
 * the project header) run over streamable HTTP too. The routing rules themselves are the daemon core's,
 * unit-tested in test/unit/. One file per route and suite, so they run side by side.
 */
export function sharingSuite(route: Route): void {
  const { home, socketOnly } = byRoute(route);

  describe(`shared daemon, proxies over ${route}: one stdio child, many sessions, nobody can tell`, () => {
    test("two sessions share one child; initialize and initialized reach it once", async (t) => {
      const daemon = home(t, { probe: probeServer() });
      const a = await session(t, daemon);
      const b = await session(t, daemon);
      const seenByA = await stats(a, daemon);
      const seenByB = await stats(b, daemon);
      assert.equal(seenByA.pid, seenByB.pid, "one child for both sessions");
      assert.equal(seenByB.received.initialize, 1);
      assert.equal(seenByB.received["notifications/initialized"], 1);
      assert.equal(Boolean(daemon.lock("probe")?.sessionSocket), route === "session socket", `the proxies use the ${route}`);
      const group = processGroupOf(seenByA.pid);
      assert.equal(group.pgid, seenByA.pid, "the child leads its own process group");
      assert.match(
        readFileSync(join(daemon.home, "probe.log"), "utf8"),
        spareStarted(seenByA.pid),
        "the child was started with the daemon, before the first session came",
      );
    });

    socketOnly(
      "sessions that differ in version, client or capabilities get the answers a private server gives each, from children of their own",
      async (t) => {
        const daemon = home(t, { probe: probeServer() });
        const handshakes: Array<[Message, string, string]> = [
          [{}, "2025-06-18", "proxy-test"],
          [{}, "2025-03-26", "proxy-test"],
          [{}, "2025-11-25", "proxy-test"],
          [{}, "1999-01-01", "proxy-test"],
          [{ sampling: {}, roots: { listChanged: true } }, "2025-06-18", "proxy-test"],
          [{}, "2025-06-18", "another-client"],
        ];
        const pids = new Set<number>();
        for (const [capabilities, version, name] of handshakes) {
          // What a private server of its own says to this client...
          const alone = new ProxyClient(t, [], { command: [PROBE_SERVER] });
          const expected = (await alone.initialize(capabilities, version, name)).result.protocolVersion;
          // ...is what the shared daemon says to it.
          const shared = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
          assert.equal((await shared.initialize(capabilities, version, name)).result.protocolVersion, expected, `${name} ${version}`);
          const child = await stats(shared, daemon);
          assert.equal(child.clientName, name, "its child was initialized by a client like it");
          pids.add(child.pid);
        }
        assert.equal(pids.size, handshakes.length, "a child per handshake");
        const twin = await session(t, daemon);
        assert.ok(pids.has((await stats(twin, daemon)).pid), "a session like an earlier one shares its child");
      },
    );

    test("interleaved concurrent calls from several sessions, with the same ids, come back to the right session", async (t) => {
      const daemon = home(t, { probe: probeServer() });
      const clients = await Promise.all([0, 1, 2, 3].map(() => session(t, daemon)));
      await Promise.all(
        clients.map(async (client, index) => {
          const calls = [];
          for (let call = 0; call < 40; call++) {
            // Every session uses ids 1000..1039 (and string ids for half): the daemon must keep them apart.
            const id = call % 2 ? 1000 + call : `id-${call}`;
            calls.push(client.request("tools/call", { name: "echo", arguments: { message: `session ${index} call ${call}` } }, id));
          }
          const answers = await Promise.all(calls);
          answers.forEach((answer, call) => assert.equal(textOf(answer), `session ${index} call ${call}`));
        }),
      );
      for (const client of clients) {
        const answered = client.received.filter((m) => m.id !== undefined && m.method === undefined);
        assert.equal(new Set(answered.map((m) => JSON.stringify(m.id))).size, answered.length, "each id answered once");
      }
    });

    test("progress reaches only the session that asked, with the token it sent", async (t) => {
      const daemon = home(t, {
        everything: { command: process.execPath, args: [EVERYTHING, "stdio"] },
      });
      const a = await session(t, daemon, "everything");
      const b = await session(t, daemon, "everything");
      const call = (client: ProxyClient, id: number) => {
        client.send({
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: {
            name: "trigger-long-running-operation",
            arguments: { duration: 0.3, steps: 3 },
            _meta: { progressToken: "same-token" },
          },
        });
        return client.responseTo(id);
      };
      await Promise.all([call(a, 77), call(b, 77)]);
      for (const client of [a, b]) {
        const progress = client.received.filter((m) => m.method === "notifications/progress");
        assert.deepEqual(
          progress.map((m) => [m.params.progressToken, m.params.progress]),
          [
            ["same-token", 1],
            ["same-token", 2],
            ["same-token", 3],
          ],
        );
      }
    });

    test("a sampling request goes to the session whose call caused it, and its answer back to the child", async (t) => {
      const daemon = home(t, { probe: probeServer() });
      const a = await session(t, daemon, "probe", { sampling: {} });
      const b = await session(t, daemon, "probe", { sampling: {} });
      a.onServerRequest = (request) => ({
        role: "assistant",
        content: { type: "text", text: `A answers ${request.params.messages[0].content.text}` },
        model: "m",
      });
      b.onServerRequest = () => {
        throw new Error("B must not be asked");
      };
      const answer = await a.callTool("ask_sampling", { prompt: "ping" });
      assert.equal(textOf(answer), "A answers ping");
      assert.ok(!b.received.some((m) => m.method === "sampling/createMessage"));
    });

    socketOnly("when two sessions have calls in flight, a sampling request is refused, not guessed", async (t) => {
      const daemon = home(t, { probe: probeServer() });
      const a = await session(t, daemon, "probe", { sampling: {} });
      const b = await session(t, daemon, "probe", { sampling: {} });
      const waiting = b.start("tools/call", { name: "wait_for_cancel", arguments: {} });
      await until(async () => (await stats(a, daemon)).active.includes("wait_for_cancel"), "the child to hold B's call");
      const answer = await a.callTool("ask_sampling", { prompt: "ping" });
      assert.ok(answer.result?.isError || answer.error, JSON.stringify(answer));
      assert.match(JSON.stringify(answer), /cannot tell which client session sampling\/createMessage is for/);
      b.notify("notifications/cancelled", { requestId: waiting });
    });

    test("a client's cancellation reaches the child under the child's id", async (t) => {
      const daemon = home(t, { probe: probeServer() });
      const a = await session(t, daemon);
      const id = "cancel-me";
      a.send({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "wait_for_cancel", arguments: {} } });
      await until(async () => (await stats(a, daemon)).active.includes("wait_for_cancel"), "the child to hold the call");
      a.notify("notifications/cancelled", { requestId: id });
      let seen: Stats;
      do seen = await stats(a, daemon);
      while (seen.cancelled.length === 0);
      assert.equal(seen.cancelled.length, 1);
      assert.equal(typeof seen.cancelled[0], "number", "the child saw its own id, not the client's");
      assert.ok(!a.received.some((m) => m.id === id), "no answer to a cancelled request");
    });

    test("notifications: list_changed to all, logging filtered per session, resources/updated to subscribers only", async (t) => {
      const daemon = home(t, { probe: probeServer() });
      const a = await session(t, daemon);
      const b = await session(t, daemon);
      await a.callTool("list_changed");
      await b.waitFor((m) => m.method === "notifications/tools/list_changed", "list_changed at B");

      await a.request("logging/setLevel", { level: "debug" });
      await b.request("logging/setLevel", { level: "error" });
      await a.callTool("log_all_levels");
      await a.waitFor((m) => m.method === "notifications/message" && m.params.level === "error");
      await b.waitFor((m) => m.method === "notifications/message" && m.params.level === "error");
      const levels = (client: ProxyClient) =>
        client.received.filter((m) => m.method === "notifications/message").map((m) => m.params.level);
      assert.deepEqual(levels(a), ["debug", "info", "warning", "error"]);
      assert.deepEqual(levels(b), ["error"]);

      await a.request("resources/subscribe", { uri: "probe://a" });
      await b.request("resources/subscribe", { uri: "probe://a" });
      await a.request("resources/unsubscribe", { uri: "probe://a" });
      await a.callTool("touch_resource", { uri: "probe://a" });
      await b.waitFor((m) => m.method === "notifications/resources/updated", "the update at B");
      // A's next answer comes after anything the child sent before it: A got no update.
      const seen = await stats(a, daemon);
      assert.ok(!a.received.some((m) => m.method === "notifications/resources/updated"));
      assert.deepEqual(seen.subscribed, ["probe://a"], "the child heard one subscribe");
      assert.deepEqual(seen.unsubscribed, [], "and no unsubscribe while B still listens");
    });

    test("the child killed with SIGKILL mid-call: that call fails with its id, then the sessions carry on", async (t) => {
      const daemon = home(t, { probe: probeServer() });
      const a = await session(t, daemon);
      const b = await session(t, daemon);
      const before = await stats(a, daemon);
      const id = a.start("tools/call", { name: "wait_for_cancel", arguments: {} });
      await until(async () => (await stats(b, daemon)).active.includes("wait_for_cancel"), "the child to hold A's call");
      killTree(before.pid, "SIGKILL");
      const failed = await a.responseTo(id);
      assert.equal(failed.error?.code, -32000);
      // How it died is for the log: sessions could tell from it whether their daemon's starter spawned the child.
      assert.match(failed.error.message, /the server exited while handling this request; it is being restarted/);
      const after = await stats(b, daemon);
      assert.notEqual(after.pid, before.pid, "a new child");
      assert.equal(after.received.initialize, 1, "re-initialized with the cached initialize");
      assert.equal(textOf(await a.callTool("echo", { message: "A again" })), "A again");
      assert.equal(a.received.filter((m) => m.result?.serverInfo).length, 1, "the proxy did not have to re-initialize");
    });

    socketOnly("a child left running by a daemon killed with SIGKILL is stopped by the next daemon", async (t) => {
      const daemon = home(t, { probe: probeServer({ env: { PROBE_IGNORE_EOF: "1" } }) });
      const a = await session(t, daemon);
      const orphan = (await stats(a, daemon)).pid;
      const daemonPid = daemon.lockedPid("probe")!;
      process.kill(daemonPid, "SIGKILL");
      await until(() => !isAlive(daemonPid), "the killed daemon to be gone");
      assert.ok(isAlive(orphan), "this server runs on after its stdin closed");
      // Once the proxy has seen its daemon go (a call racing the death itself may fail, as it would mid-call),
      // it brings up a new daemon, which stops the leftover before starting its own child.
      while (!/daemon session lost/.test(a.stderr)) await within(once(a.child.stderr!, "data"), "the proxy to lose its daemon session");
      const probe = await a.callTool("stats");
      assert.ok(probe.result, `${JSON.stringify(probe)}\n${a.stderr}`);
      const after = JSON.parse(textOf(probe)) as Stats;
      daemon.track(after.pid);
      assert.notEqual(after.pid, orphan);
      assert.ok(!isAlive(orphan), "the leftover child is gone");
    });

    socketOnly("a daemon stopped with SIGTERM stops its children's whole process groups", async (t) => {
      const daemon = home(t, { probe: probeServer() });
      const a = await session(t, daemon);
      const child = (await stats(a, daemon)).pid;
      const daemonPid = daemon.lockedPid("probe")!;
      process.kill(daemonPid, "SIGTERM");
      await until(() => !isAlive(daemonPid) && !isAlive(child), "the daemon and its child to be gone");
      assert.ok(!isAlive(child));
    });
  });
}

/** The sharing scopes (shared, project, session) for proxies reaching the daemon by `route`. */
export function scopeSuite(route: Route): void {
  const { home, socketOnly } = byRoute(route);

  describe(`sharing scopes, proxies over ${route}`, () => {
    test("project: one child per project, started in that directory; shared across sessions of a project", async (t) => {
      const dir = tempDir(t);
      const one = join(dir, "one");
      const two = join(dir, "two");
      mkdirSync(one);
      mkdirSync(two);
      const daemon = home(t, { probe: probeServer({ scope: "project" }) });
      const a1 = await session(t, daemon, "probe", {}, one);
      const a2 = await session(t, daemon, "probe", {}, one);
      const b = await session(t, daemon, "probe", {}, two);
      const [s1, s2, s3] = [await stats(a1, daemon), await stats(a2, daemon), await stats(b, daemon)];
      assert.equal(s1.pid, s2.pid);
      assert.notEqual(s1.pid, s3.pid);
      assert.equal(s1.cwd, realpathSync(one));
      assert.equal(s3.cwd, realpathSync(two));
      assert.match(
        readFileSync(join(daemon.home, "probe.log"), "utf8"),
        spareStarted(s1.pid),
        "the first project's child was started with the daemon, in the project the starting proxy named",
      );
      // Status shows who shares what: a child per project, with the client it was initialized for.
      const status = JSON.parse((await runManagerCli(["status", "--json"], { env: daemon.env })).stdout);
      const children = status.daemons[0].children.map((child: Message) => [child.serves, child.pid, child.sessions]).sort();
      const profile = /^proxy-test\/2025-06-18\/[0-9a-f]{12}$/;
      assert.deepEqual(
        children.map(([serves, pid, sessions]: [string, number, number]) => [serves.split(" ")[0], pid, sessions]),
        [
          [`project:${realpathSync(one)}`, s1.pid, 2],
          [`project:${realpathSync(two)}`, s3.pid, 1],
        ].sort(),
      );
      for (const [serves] of children) assert.match(serves.split(" ")[1], profile);
    });

    socketOnly("session: every session has its own child, in its own project", async (t) => {
      const dir = tempDir(t);
      const daemon = home(t, { probe: probeServer({ scope: "session" }) });
      const a = await session(t, daemon, "probe", {}, dir);
      const b = await session(t, daemon);
      const [sa, sb] = [await stats(a, daemon), await stats(b, daemon)];
      assert.notEqual(sa.pid, sb.pid);
      assert.equal(sa.cwd, realpathSync(dir));
    });

    socketOnly(
      "a server seen asking for roots gets the asker's own; from then on, and after a restart, each new session gets a child of its own",
      async (t) => {
        const daemon = home(t, { probe: probeServer() });
        const withRoots = async (uri: string) => {
          const client = new ProxyClient(t, ["--target", "probe"], { env: daemon.env });
          client.onServerRequest = (request) => (request.method === "roots/list" ? { roots: [{ uri, name: uri }] } : undefined);
          await client.initialize({ roots: { listChanged: true } });
          return client;
        };
        const rootsOf = async (client: ProxyClient) => JSON.parse(textOf(await client.callTool("ask_roots"))) as Message[];
        const a = await withRoots("file:///a");
        const b = await withRoots("file:///b");
        const first = (await stats(a, daemon)).pid;
        assert.equal((await stats(b, daemon)).pid, first, "alike, they share a child until it asks");
        assert.deepEqual(await rootsOf(a), [{ uri: "file:///a", name: "file:///a" }], "the child works for A: A's roots");
        assert.ok(existsSync(join(daemon.home, "probe.learned.json")), "what was learned is kept");
        const c = await withRoots("file:///c");
        assert.notEqual((await stats(c, daemon)).pid, first, "a new session: a child of its own");
        assert.deepEqual(await rootsOf(c), [{ uri: "file:///c", name: "file:///c" }]);
        const status = JSON.parse((await runManagerCli(["status", "--json"], { env: daemon.env })).stdout);
        assert.equal(status.daemons[0].learned.asksClients.method, "roots/list", "status says what was learned");

        const pid = daemon.lockedPid("probe")!;
        process.kill(pid, "SIGTERM");
        await until(() => !isAlive(pid), "the daemon to stop");
        const [d, e] = [await withRoots("file:///d"), await withRoots("file:///e")];
        assert.notEqual((await stats(d, daemon)).pid, (await stats(e, daemon)).pid, "after a restart too");
        assert.deepEqual(await rootsOf(e), [{ uri: "file:///e", name: "file:///e" }]);
      },
    );

    socketOnly("server-everything as private servers answer: its tools per capability set, and each session's own roots", async (t) => {
      const daemon = home(t, { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] } });
      const connect = async (
        args: string[],
        capabilities: Message,
        root: string,
        options: { env?: NodeJS.ProcessEnv; command?: string[] },
      ) => {
        const client = new ProxyClient(t, args, options);
        client.onServerRequest = (request) =>
          request.method === "roots/list" ? { roots: [{ uri: `file:///${root}`, name: root }] } : undefined;
        await client.initialize(capabilities);
        return client;
      };
      const names = async (client: ProxyClient) =>
        ((await client.request("tools/list")).result.tools as Message[]).map((tool) => tool.name as string).sort();
      const roots = async (client: ProxyClient) => textOf(await client.callTool("get-roots-list"));
      const every = { roots: { listChanged: true }, sampling: {}, elicitation: {} };
      // A bare client and a capable one, each beside a private server-everything of its own.
      const bare = await connect(["--target", "everything"], {}, "bare", { env: daemon.env });
      const privateBare = await connect(["stdio"], {}, "bare", { command: [EVERYTHING] });
      const a = await connect(["--target", "everything"], every, "a", { env: daemon.env });
      const privateA = await connect(["stdio"], every, "a", { command: [EVERYTHING] });
      assert.deepEqual(await names(bare), await names(privateBare), "the bare client is shown what its own server shows it");
      assert.deepEqual(await names(a), await names(privateA), "and the capable one too");
      assert.notDeepEqual(await names(bare), await names(a), "which differ: they do not share a child");
      await until(async () => (await roots(a)) === (await roots(privateA)), "A's child to have A's roots");
      // A second capable session: the server asks it for its roots, not A's (it got a child of its own).
      const b = await connect(["--target", "everything"], every, "b", { env: daemon.env });
      await until(async () => (await roots(b)).includes("file:///b"), "B's child to have B's roots");
      assert.ok(!(await roots(b)).includes("file:///a"), "never A's");
      assert.ok(!(await roots(a)).includes("file:///b"), "and A keeps its own");
    });

    socketOnly("shared: the child runs in the home directory, never in the project of the session that came first", async (t) => {
      const dir = tempDir(t);
      const daemon = home(t, { probe: probeServer() });
      const first = await session(t, daemon, "probe", {}, dir);
      assert.equal((await stats(first, daemon)).cwd, realpathSync(homedir()));
      const own = home(t, { probe: probeServer({ cwd: dir }) });
      const placed = await session(t, own);
      assert.equal((await stats(placed, own)).cwd, realpathSync(dir), "an entry's own cwd wins");
    });

    socketOnly("a project child with no sessions left is stopped after the idle time", async (t) => {
      const dir = tempDir(t);
      const daemon = home(t, { probe: probeServer({ scope: "project", childIdleTimeoutMs: 0 }) });
      const a = await session(t, daemon, "probe", {}, dir);
      const child = (await stats(a, daemon)).pid;
      a.child.stdin!.end(); // the proxy ends its daemon session (DELETE) and exits
      await until(() => !isAlive(child), "the idle child to be stopped");
      assert.ok(isAlive(daemon.lockedPid("probe")!), "the daemon itself stays");
    });
  });
}
