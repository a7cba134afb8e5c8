import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLarge, readBoundedBody } from "../http/read-body.js";
import { refuseNonLoopback } from "../http/loopback-guard.js";
import { addressFields, type DaemonAddress } from "../runtime/daemon-address.js";
import { isStartable } from "../config/server-config.js";
import type { ReloadOutcome } from "./config-reload.js";
import type { DaemonReport } from "./daemon-state.js";
import { managerIdentity, statusSnapshot, type SnapshotSource, type StatusSnapshot } from "./status-snapshot.js";
import { SupervisorRefusal, type SupervisedDaemon } from "./supervisor.js";
import { declaresJson } from "../http/json-content-type.js";
import { StatusPage } from "./status-page/page-routes.js";
import { VERSION } from "../version.js";
import { whereReached, type ListenerAuth } from "../runtime/listener-auth.js";

const MAX_BODY_BYTES = 64 * 1024;

/** What the API needs from the running manager. */
export interface ManagerControl extends SnapshotSource {
  readonly auth: ListenerAuth;
  /** The supervised daemon called `name`, once the config file as it is now is applied. */
  daemon(name: string): Promise<SupervisedDaemon | undefined>;
  /** Every supervised daemon as known, applying nothing (for answers anyone may ask for). */
  known(): SupervisedDaemon[];
  /** Applies the config file as it is now. */
  reload(): Promise<ReloadOutcome>;
  /** Exits, leaving every daemon running for the manager that takes over (an upgrade). */
  handOver(): void;
}

/**
 * The manager's loopback HTTP API. Everything wants the home's token (`<home>/manager.token`) or a credential
 * for this instance (runtime/listener-auth.ts), except two reads: `GET /ping` introduces us (and proves it, to a
 * challenge), and `GET /status` lists server names and states, so the plain `curl 127.0.0.1:3199/status`
 * works; with the token, both tell the rest. A browser page cannot use it: a foreign Origin or a non-loopback
 * Host (DNS rebinding) is refused with 403, bodies must be `application/json`, and no CORS header is ever sent.
 */
export class ManagerApi {
  constructor(
    private readonly control: ManagerControl,
    private readonly page: StatusPage,
  ) {}

  handle(request: IncomingMessage, response: ServerResponse): void {
    void this.route(request, response).catch((error: Error) => {
      if (error instanceof SupervisorRefusal) return send(response, error.status, { error: error.message });
      if (error instanceof BodyTooLarge) return send(response, 413, { error: `request body over ${MAX_BODY_BYTES} bytes` });
      send(response, 500, { error: error.message });
    });
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const refusal = refuseNonLoopback(request, this.control.port);
    if (refusal) return send(response, 403, { error: `forbidden: ${refusal}` });
    const path = (request.url ?? "/").split("?")[0]!;
    // The page has its own login (a cookie from a one-time link), for a browser, which never holds the token.
    if (StatusPage.serves(path)) return this.page.handle(request, response, path);
    const authorized = this.control.auth.authorizes(request);
    if (path === "/ping" || path === "/status") {
      if (request.method !== "GET" && request.method !== "HEAD")
        return send(response, 405, { error: `${path} takes GET` }, { allow: "GET" });
      if (path === "/ping")
        return send(response, 200, authorized ? this.identity() : this.control.auth.introduce(request, whereReached(request)));
      return send(response, 200, authorized ? await this.status() : this.publicStatus());
    }
    if (!authorized) {
      // Where the token is goes unsaid: whoever may read it knows, and nobody else needs to.
      return send(response, 401, { error: "missing or wrong bearer token (the home's manager.token)" }, { "www-authenticate": "Bearer" });
    }
    if (path === "/reload") {
      if (request.method !== "POST") return send(response, 405, { error: `${path} takes POST` }, { allow: "POST" });
      const outcome = await this.control.reload();
      return send(response, outcome.error ? 422 : 200, outcome);
    }
    if (path === "/upgrade") {
      if (request.method !== "POST") return send(response, 405, { error: `${path} takes POST` }, { allow: "POST" });
      const results = await Promise.all(
        (await this.control.daemons()).map(async (daemon) => {
          try {
            const from = await daemon.upgrade();
            return { name: daemon.name, ok: true, ...(from ? { from, to: VERSION } : { current: true }) };
          } catch (error) {
            return { name: daemon.name, ok: false, error: (error as Error).message };
          }
        }),
      );
      return send(response, 200, { version: VERSION, results });
    }
    if (path === "/handover") {
      if (request.method !== "POST") return send(response, 405, { error: `${path} takes POST` }, { allow: "POST" });
      send(response, 200, { handingOver: true, pid: process.pid });
      return void response.once("finish", () => this.control.handOver());
    }
    if (path === "/login-link") {
      if (request.method !== "POST") return send(response, 405, { error: `${path} takes POST` }, { allow: "POST" });
      return send(response, 200, this.page.loginLink());
    }
    const action = ACTIONS[path];
    if (!action) return send(response, 404, { error: `no such endpoint: ${path} (see GET /status)` });
    if (request.method !== "POST") return send(response, 405, { error: `${path} takes POST` }, { allow: "POST" });
    if (!declaresJson(request)) return send(response, 415, { error: "the body must be JSON, sent as Content-Type: application/json" });
    const body = await readBoundedBody(request, MAX_BODY_BYTES);
    if (action.all) {
      const results = await Promise.all(
        (await this.control.daemons()).filter(action.all).map((daemon) => outcome(daemon.name, action.run(daemon))),
      );
      return send(response, 200, { results });
    }
    const { name, project } = fieldsIn(body);
    if (name === undefined) return send(response, 400, { error: 'the body must be JSON naming a server: {"name": "..."}' });
    const daemon = await this.control.daemon(name);
    if (!daemon)
      return send(response, 404, { error: `no server named "${name}" in ${this.control.configFile() ?? "the embedded defaults"}` });
    const address = await action.run(daemon, project);
    send(response, 200, { ...(await daemon.report()), ...(address ? addressFields(address) : {}) });
  }

  private identity() {
    return managerIdentity(this.control);
  }

  /**
   * Without the token: each server's name and state as the supervisor knows them, nothing about sessions,
   * projects, paths or the home; and no probe is made for it, so anyone's request costs the daemons nothing.
   */
  private publicStatus(): { daemons: Array<Pick<DaemonReport, "name" | "state">> } {
    return { daemons: this.control.known().map((daemon) => ({ name: daemon.name, state: daemon.knownState() })) };
  }

  private status(): Promise<StatusSnapshot> {
    return statusSnapshot(this.control);
  }
}

interface Action {
  /** `project`: the project of the session asking (`/ensure`), when it names one. */
  run: (daemon: SupervisedDaemon, project?: string) => Promise<DaemonAddress | void>;
  /** For the -all variants: which daemons they apply to. */
  all?: (daemon: SupervisedDaemon) => boolean;
}

const startable = (daemon: SupervisedDaemon) => isStartable(daemon.server);

const ACTIONS: Record<string, Action> = {
  "/ensure": { run: (daemon, project) => daemon.ensure(project) },
  "/start": { run: (daemon) => daemon.start() },
  "/stop": { run: (daemon) => daemon.stop({ by: "mcp-manager stop" }) },
  "/restart": { run: (daemon) => daemon.restart("restarted by mcp-manager restart") },
  "/start-all": { run: (daemon) => daemon.start(), all: startable },
  "/stop-all": { run: (daemon) => daemon.stop({ by: "mcp-manager stop --all" }), all: () => true },
};

async function outcome(name: string, work: Promise<DaemonAddress | void>): Promise<Record<string, unknown>> {
  try {
    const address = await work;
    return { name, ok: true, ...(address ? addressFields(address) : {}) };
  } catch (error) {
    return { name, ok: false, error: (error as Error).message };
  }
}

/** Longer is no path a system accepts (Linux's PATH_MAX). */
const MAX_PROJECT_CHARS = 4096;

/**
 * What a request body names: the server, and for `/ensure` the asking session's project (its daemon checks it
 * as it checks any session's).
 */
function fieldsIn(body: string): { name?: string; project?: string } {
  let parsed: { name?: unknown; project?: unknown } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return {};
  }
  const { name, project } = parsed ?? {};
  return {
    ...(typeof name === "string" && name ? { name } : {}),
    ...(typeof project === "string" && project && project.length <= MAX_PROJECT_CHARS ? { project } : {}),
  };
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) return void response.end();
  response
    .writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers })
    .end(JSON.stringify(body) + "\n");
}
