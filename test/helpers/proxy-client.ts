import type { ChildProcess } from "node:child_process";
import { within } from "./bounded.js";
import type { TestContext } from "node:test";
import { PROXY } from "./paths.js";
import { spawnTracked } from "./processes.js";

export type Message = Record<string, any>;

/**
 * Drives an mcp-proxy process over its stdio the way an MCP client does: newline-delimited JSON-RPC.
 * Every line the proxy writes is parsed and kept, and waits are on those lines arriving, never on time.
 */
export class ProxyClient {
  readonly child: ChildProcess;
  /** The environment the process was started with. */
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly received: Message[] = [];
  readonly rawLines: string[] = [];
  stderr = "";
  private nextId = 1;
  private waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void; reject: (e: Error) => void; what: string }> = [];
  /** Answers the proxy relays for server-initiated requests (sampling, elicitation, roots). */
  onServerRequest: ((request: Message) => unknown) | undefined;

  /** `command` replaces mcp-proxy with another stdio server script (the official memory server, ...). */
  constructor(
    t: TestContext,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string; detached?: boolean; command?: string[] } = {},
  ) {
    this.env = options.env;
    this.child = spawnTracked(t, process.execPath, [...(options.command ?? [PROXY]), ...args], {
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      detached: options.detached ?? false,
    });
    let buffer = "";
    this.child.stdout!.setEncoding("utf8");
    this.child.stdout!.on("data", (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        this.rawLines.push(line);
        const message = JSON.parse(line) as Message;
        this.received.push(message);
        this.dispatch(message);
      }
    });
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (chunk: string) => (this.stderr += chunk));
    this.child.once("exit", () => {
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(new Error(`proxy exited while waiting for ${waiter.what}; stderr:\n${this.stderr}`));
      }
    });
  }

  private dispatch(message: Message): void {
    if (message.method && message.id !== undefined && this.onServerRequest) {
      const result = this.onServerRequest(message);
      if (result !== undefined) this.send({ jsonrpc: "2.0", id: message.id, result });
    }
    for (const waiter of [...this.waiters]) {
      if (waiter.match(message)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  }

  send(message: Message | Message[]): void {
    this.child.stdin!.write(JSON.stringify(message) + "\n");
  }

  writeLine(line: string): void {
    this.child.stdin!.write(line + "\n");
  }

  /** The first message (already received or still to come) that matches. */
  waitFor(match: (m: Message) => boolean, what = "a matching message"): Promise<Message> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    if (this.child.exitCode !== null) return Promise.reject(new Error(`proxy already exited; waiting for ${what}`));
    const waiter = { match, resolve: (_: Message) => {}, reject: (_: Error) => {}, what };
    const found = new Promise<Message>((resolve, reject) => Object.assign(waiter, { resolve, reject }));
    this.waiters.push(waiter);
    return within(found, `${what} from the proxy`).finally(() => (this.waiters = this.waiters.filter((w) => w !== waiter)));
  }

  responseTo(id: string | number): Promise<Message> {
    return this.waitFor((m) => m.id === id && m.method === undefined, `the response to ${id}`);
  }

  /** Sends a request without waiting: for calls that must be in flight while something else happens. */
  start(method: string, params?: Message): number {
    const id = this.nextId++;
    this.send({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });
    return id;
  }

  async request(method: string, params?: Message, id: string | number = this.nextId++): Promise<Message> {
    this.send({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });
    return this.responseTo(id);
  }

  notify(method: string, params?: Message): void {
    this.send({ jsonrpc: "2.0", method, ...(params ? { params } : {}) });
  }

  async initialize(capabilities: Message = {}, protocolVersion = "2025-06-18", clientName = "proxy-test"): Promise<Message> {
    const response = await this.request("initialize", {
      protocolVersion,
      capabilities,
      clientInfo: { name: clientName, version: "1.0.0" },
    });
    if (response.error) throw new Error(`initialize failed: ${JSON.stringify(response.error)}\n${this.stderr}`);
    this.notify("notifications/initialized");
    return response;
  }

  async callTool(name: string, args: Message = {}, meta?: Message): Promise<Message> {
    return this.request("tools/call", { name, arguments: args, ...(meta ? { _meta: meta } : {}) });
  }

  newId(): number {
    return this.nextId++;
  }
}

export const textOf = (response: Message): string => (response.result?.content ?? []).map((c: Message) => c.text ?? "").join("");
