import type { ChildConnection, ChildSpec, SpawnChild } from "../../../src/daemon/child-connection.js";
import type { JsonRpcMessage, JsonRpcRequest } from "../../../src/protocol/json-rpc.js";

export const INITIALIZE_RESULT = {
  protocolVersion: "2025-06-18",
  capabilities: { tools: { listChanged: true }, resources: { subscribe: true }, logging: {} },
  serverInfo: { name: "fake", version: "1" },
};

/**
 * A stdio server in memory: it records every message the daemon core writes to it, answers `initialize` by
 * itself unless told not to, and the test makes it answer, notify, ask or die.
 */
export class FakeChild implements ChildConnection {
  static nextPid = 1000;
  readonly pid = FakeChild.nextPid++;
  onmessage: ChildConnection["onmessage"] = () => {};
  onexit: ChildConnection["onexit"] = () => {};
  readonly received: JsonRpcMessage[] = [];
  alive = true;
  /** When false, `send` refuses, as for a child that stopped reading its input. */
  reading = true;

  constructor(
    readonly spec: ChildSpec,
    private readonly answersInitialize: boolean,
  ) {}

  send(text: string): boolean {
    if (!this.alive || !this.reading) return false;
    const message = JSON.parse(text) as JsonRpcMessage;
    this.received.push(message);
    if (this.answersInitialize && "method" in message && message.method === "initialize" && "id" in message) {
      queueMicrotask(() => this.emit({ jsonrpc: "2.0", id: message.id, result: INITIALIZE_RESULT }));
    }
    return true;
  }

  /** The child writes a message to its stdout. */
  emit(message: JsonRpcMessage): void {
    if (this.alive) this.onmessage(message, JSON.stringify(message));
  }

  /** The requests it received with this method, in order. */
  requests(method: string): JsonRpcRequest[] {
    return this.received.filter((m): m is JsonRpcRequest => "method" in m && "id" in m && m.method === method);
  }

  notifications(method: string): JsonRpcMessage[] {
    return this.received.filter((m) => "method" in m && !("id" in m) && m.method === method);
  }

  /** The last request it received with this method; fails the test when there is none. */
  last(method: string): JsonRpcRequest {
    const found = this.requests(method).at(-1);
    if (!found) throw new Error(`the child received no ${method}; it received: ${JSON.stringify(this.received)}`);
    return found;
  }

  die(reason = "exited with code 1"): void {
    if (!this.alive) return;
    this.alive = false;
    this.onexit(reason);
  }

  async stop(): Promise<void> {
    this.die("killed by SIGTERM");
  }
}

/** A spawn function that hands out FakeChild instances and keeps them for the test to drive. */
export function fakeSpawner(options: { answersInitialize?: boolean; failSpawns?: number } = {}): {
  spawn: SpawnChild;
  children: FakeChild[];
  current: () => FakeChild;
} {
  const children: FakeChild[] = [];
  let failures = options.failSpawns ?? 0;
  const spawn: SpawnChild = (spec) => {
    if (failures-- > 0) throw new Error("spawn EMFILE");
    const child = new FakeChild(spec, options.answersInitialize ?? true);
    children.push(child);
    return child;
  };
  const current = () => {
    const child = children.at(-1);
    if (!child) throw new Error("no child was started");
    return child;
  };
  return { spawn, children, current };
}
