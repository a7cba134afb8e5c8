import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { configuredHome, probeServer } from "../helpers/daemon-home.js";
import { ProxyClient, type Message } from "../helpers/proxy-client.js";
import { report, SEED, seededRandom } from "./fault-report.js";

const LINES = Number(process.env.FAULT_FUZZ_LINES ?? 10_000);
const MAX_MESSAGE_BYTES = 65_536;
const GRACE_MS = 30_000;

/**
 * 10,000 lines of what a broken or hostile client could write: random bytes, truncated JSON, deep nesting,
 * wrong types, lines over the size limit, batches, answers to nothing, mixed with real requests. What must
 * hold: the proxy never exits; every request with a usable id is answered exactly once, under that id; no
 * answer carries an id that was never sent; only parse errors carry `id: null`.
 */
test("stdin fuzz: 10,000 lines, every addressable request answered once with its id", async (t) => {
  const daemon = configuredHome(t, { probe: probeServer() });
  const client = new ProxyClient(
    t,
    ["--config", join(daemon.home, "config.json"), "--target", "probe", "--max-message-bytes", String(MAX_MESSAGE_BYTES)],
    {
      env: daemon.env,
    },
  );
  await client.initialize();
  const random = seededRandom(SEED);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  let next = 0;
  const freshId = (): string | number => (random() < 0.5 ? ++next : `s${++next}`);
  /** Ids that must be answered exactly once, with whether the answer must be a result. */
  const expected = new Map<string, "result" | "error" | "any">();
  const expect = (id: string | number, kind: "result" | "error" | "any") => expected.set(JSON.stringify(id), kind);
  const counts: Record<string, number> = {};

  const kinds: Array<[string, () => string]> = [
    [
      "ping",
      () => {
        const id = freshId();
        expect(id, "result");
        return JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });
      },
    ],
    [
      "echo",
      () => {
        const id = freshId();
        expect(id, "result");
        return JSON.stringify({
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "echo", arguments: { message: "m".repeat(Math.floor(random() * 200)) } },
        });
      },
    ],
    [
      "notification",
      () =>
        JSON.stringify({
          jsonrpc: "2.0",
          method: pick(["notifications/progress", "notifications/roots/list_changed", "notifications/unknown"]),
          params: {},
        }),
    ],
    [
      "random bytes",
      () =>
        Buffer.from(
          Array.from({ length: 1 + Math.floor(random() * 300) }, () => {
            const b = Math.floor(random() * 256);
            return b === 10 ? 32 : b;
          }),
        ).toString("latin1"),
    ],
    [
      "truncated json",
      () => {
        const text = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo" } });
        return text.slice(0, Math.floor(random() * (text.length - 1)));
      },
    ],
    [
      "deep nesting",
      () => {
        const depth = 1000 + Math.floor(random() * 20_000);
        return pick(["[", '{"a":']).repeat(depth);
      },
    ],
    [
      "wrong method type",
      () => {
        const id = freshId();
        expect(id, "error");
        return JSON.stringify({ jsonrpc: "2.0", id, method: pick([42, true, null, { x: 1 }]) });
      },
    ],
    [
      "wrong version",
      () => {
        const id = freshId();
        expect(id, "error");
        return JSON.stringify({ jsonrpc: pick(["1.0", 2, "2"]), id, method: "ping" });
      },
    ],
    [
      "params not an object",
      () => {
        const id = freshId();
        expect(id, "error");
        return JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: pick(["x", 5, true]) });
      },
    ],
    ["unaddressable id", () => JSON.stringify({ jsonrpc: "2.0", id: pick([null, true, { n: 1 }, [1], Infinity]), method: "ping" })],
    ["answer to nothing", () => JSON.stringify({ jsonrpc: "2.0", id: `never-${++next}`, result: {} })],
    [
      "over the limit",
      () => {
        const id = freshId();
        expect(id, "error");
        const body = "h".repeat(MAX_MESSAGE_BYTES + Math.floor(random() * 10_000));
        return random() < 0.5
          ? JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { message: body } } })
          : JSON.stringify({ method: "tools/call", params: { name: "echo", arguments: { message: body } }, jsonrpc: "2.0", id });
      },
    ],
    [
      "batch",
      () => {
        const items = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
          const id = freshId();
          expect(id, "result");
          return { jsonrpc: "2.0", id, method: "ping" };
        });
        return JSON.stringify(items);
      },
    ],
    ["empty or blank", () => pick(["", "   ", "\t"])],
  ];

  for (let line = 0; line < LINES; line++) {
    const [kind, make] = pick(kinds);
    counts[kind] = (counts[kind] ?? 0) + 1;
    client.child.stdin!.write(make() + "\n");
  }
  // A last ping goes after everything; then every expected answer gets a bounded grace (echo answers in
  // milliseconds): one still missing after it is counted as a violation instead of hanging the suite.
  await client.request("ping", undefined, "last");
  const answers = (m: Message): Message[] => (Array.isArray(m) ? m : [m]).filter((one: Message) => one.method === undefined);
  const pending = [...expected.keys()].map((key) =>
    client.waitFor((m) => answers(m).some((one) => JSON.stringify(one.id) === key), `the answer to ${key}`),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(pending), new Promise((resolve) => (timer = setTimeout(resolve, GRACE_MS)))]);
  clearTimeout(timer);

  const violations: string[] = [];
  if (client.child.exitCode !== null) violations.push(`the proxy exited (${client.child.exitCode})`);
  const byId = new Map<string, Message[]>();
  const flat = client.received.flatMap((message) => (Array.isArray(message) ? message : [message])) as Message[];
  for (const message of flat) {
    if (message.method !== undefined) continue;
    if (message.id === null) {
      if (message.error?.code !== -32700)
        violations.push(`id null on something other than a parse error: ${JSON.stringify(message).slice(0, 200)}`);
      continue;
    }
    const key = JSON.stringify(message.id);
    byId.set(key, [...(byId.get(key) ?? []), message]);
  }
  for (const [key, got] of byId) {
    if (key === '"last"' || JSON.stringify(got[0]?.result?.protocolVersion) !== undefined) continue;
    const want = expected.get(key);
    if (want === undefined) violations.push(`an answer under an id never sent as a request: ${key}`);
    else if (got.length !== 1) violations.push(`${key} answered ${got.length} times`);
    else if (want === "result" && !got[0]!.result)
      violations.push(`${key} got an error instead of a result: ${JSON.stringify(got[0]!.error)}`);
    else if (want === "error" && !got[0]!.error) violations.push(`${key} got a result for an invalid request`);
  }
  for (const key of expected.keys()) if (!byId.has(key)) violations.push(`${key} never answered`);

  report({
    fault: "stdin fuzz",
    load: `${LINES} lines (seed ${SEED}): ${Object.entries(counts)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(", ")}; ${expected.size} requests that must be answered`,
    violations,
  });
  assert.deepEqual(violations, []);
});
