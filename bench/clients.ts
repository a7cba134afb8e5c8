import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { createParser } from "eventsource-parser";

type Message = Record<string, any>;

const INIT_PARAMS = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } };

/** The smallest honest streamable HTTP client: keep-alive node:http, session header, JSON or SSE answers. */
export class HttpClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private sessionId: string | undefined;
  private version: string | undefined;
  private nextId = 1;

  constructor(private readonly url: URL) {}

  async initialize(): Promise<void> {
    const answer = await this.call("initialize", INIT_PARAMS);
    this.version = answer.result.protocolVersion;
    await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
  }

  call(method: string, params: Message): Promise<Message> {
    return this.post({ jsonrpc: "2.0", id: this.nextId++, method, params }) as Promise<Message>;
  }

  private post(message: Message): Promise<Message | undefined> {
    const body = JSON.stringify(message);
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "content-length": Buffer.byteLength(body),
    };
    if (this.sessionId) headers["mcp-session-id"] = this.sessionId;
    if (this.version) headers["mcp-protocol-version"] = this.version;
    return new Promise((resolve, reject) => {
      const req = http.request(this.url, { method: "POST", headers, agent: this.agent }, (res) => {
        const sid = res.headers["mcp-session-id"];
        if (typeof sid === "string") this.sessionId = sid;
        if (res.statusCode === 202) {
          res.resume();
          return resolve(undefined);
        }
        let answered = false;
        const finish = (text: string) => {
          const parsed = JSON.parse(text) as Message;
          if (parsed.id === message.id && !answered) {
            answered = true;
            resolve(parsed);
          }
        };
        res.setEncoding("utf8");
        if ((res.headers["content-type"] ?? "").includes("text/event-stream")) {
          const parser = createParser({ onEvent: (event) => event.data && finish(event.data) });
          res.on("data", (chunk: string) => parser.feed(chunk));
        } else {
          let text = "";
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => finish(text));
        }
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The same client over stdio: newline-delimited JSON-RPC to a spawned mcp-proxy. */
export class StdioClient {
  readonly child: ChildProcess;
  private nextId = 1;
  /** The pieces of the line not yet complete: each chunk is searched once, so a megabyte answer costs no more. */
  private pending: Buffer[] = [];
  private readonly waiting = new Map<number, (message: Message) => void>();
  private exited: string | undefined;
  /** When the last answer's final byte arrived, before the client parsed it: the server's part of a call. */
  lastAnswerAt = 0;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "ignore"], env });
    this.child.once("exit", (code, signal) => {
      this.exited = `${command} ${args.join(" ")} exited (${signal ?? code})`;
      // A server that died answers nothing more: fail the calls still waiting instead of hanging.
      for (const resolve of this.waiting.values()) resolve({ error: { code: -1, message: this.exited } });
      this.waiting.clear();
    });
    this.child.stdout!.on("data", (chunk: Buffer) => {
      let from = 0;
      let newline: number;
      while ((newline = chunk.indexOf(10, from)) >= 0) {
        this.pending.push(chunk.subarray(from, newline));
        this.lastAnswerAt = performance.now();
        const message = JSON.parse(Buffer.concat(this.pending).toString("utf8")) as Message;
        this.pending = [];
        from = newline + 1;
        const resolve = this.waiting.get(message.id);
        if (resolve) {
          this.waiting.delete(message.id);
          resolve(message);
        }
      }
      if (from < chunk.length) this.pending.push(chunk.subarray(from));
    });
  }

  async initialize(): Promise<Message> {
    const answer = await this.call("initialize", INIT_PARAMS);
    this.child.stdin!.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
    return answer;
  }

  call(method: string, params: Message): Promise<Message> {
    const id = this.nextId++;
    if (this.exited) return Promise.resolve({ error: { code: -1, message: this.exited } });
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.stdin!.end();
    await exited;
  }
}
