import { createHash } from "node:crypto";
import { closeSync, createReadStream, fstatSync, openSync, readFileSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { logPath, managerLogPath } from "../../config/paths.js";
import { declaresJson } from "../../http/json-content-type.js";
import { serverOutcome } from "../../runtime/server-outcome.js";
import { BodyTooLarge, readBoundedBody } from "../../http/read-body.js";
import type { StatusSnapshot } from "../status-snapshot.js";
import { SupervisorRefusal, type SupervisedDaemon } from "../supervisor.js";
import { BrowserLogins } from "./browser-logins.js";
import { StatusFeed } from "./status-feed.js";

/** What the page needs from the running manager. */
export interface PageControl {
  readonly home: string;
  readonly port: number;
  /** The supervised daemon called `name`, once the config file as it is now is applied. */
  daemon(name: string): Promise<SupervisedDaemon | undefined>;
  /** Every supervised daemon as known now. */
  known(): SupervisedDaemon[];
  snapshot(): Promise<StatusSnapshot>;
}

/** Where the built page is: `dist/page/`, beside the manager's entry and its chunks. */
const ASSETS = fileURLToPath(new URL("../page/", import.meta.url));

/** Nothing from anywhere but this manager, no inline script or style, no framing, no form posting elsewhere. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const LOCKED_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mcp-session-manager</title></head>' +
  "<body><p>Run <code>mcp-manager open</code> to see this page.</p></body></html>\n";

const ACTIONS = {
  start: (daemon: SupervisedDaemon) => daemon.start(),
  stop: (daemon: SupervisedDaemon) => daemon.stop({ by: "the status page" }),
  restart: (daemon: SupervisedDaemon) => daemon.restart("restarted by the status page"),
} as const;

/**
 * The status page on the manager's port (`GET /`): for the browser logged in with a one-time link from
 * `mcp-manager open` and for nobody else (browser-logins.ts). Without its cookie, `/` says how to get one and
 * every other page route answers 401; with the cookie but without the page's key, 403; actions also want a
 * request from the page's own origin.
 */
export class StatusPage {
  readonly logins: BrowserLogins;
  private readonly feed: StatusFeed;
  private built: { html: string; policy: string } | undefined;

  constructor(private readonly control: PageControl) {
    this.logins = new BrowserLogins(`mcp_session_manager_${control.port}`);
    this.feed = new StatusFeed(() => control.snapshot());
  }

  /** Whether `path` is one of the page's routes. */
  static serves(path: string): boolean {
    return (
      path === "/" ||
      path === "/login" ||
      path === "/events" ||
      path === "/page.js" ||
      path === "/favicon.ico" ||
      path.startsWith("/logs/") ||
      path.startsWith("/actions/")
    );
  }

  /** The one-time login URL (`mcp-manager open`, which holds the API token, asks for it). */
  loginLink(): { url: string; expiresAt: string } {
    const { secret, expiresAt } = this.logins.issueLink();
    return { url: `http://127.0.0.1:${this.control.port}/login?once=${secret}`, expiresAt: new Date(expiresAt).toISOString() };
  }

  close(): void {
    this.feed.close();
  }

  async handle(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const method = request.method ?? "GET";
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (path === "/page.js") return this.script(response);
    // Browsers ask for it on their own; there is none, and it is no secret that there is none.
    if (path === "/favicon.ico") return void response.writeHead(204, SECURITY_HEADERS).end();
    if (path === "/login") return this.login(url, response);
    const login = this.logins.loginOf(request);
    if (path === "/" && method === "GET") {
      if (!login) return send(response, 200, "text/html; charset=utf-8", LOCKED_PAGE);
      // The shell alone: no data and no secret in it; its script reads its key from the fragment or sessionStorage.
      this.built ??= buildPage();
      return send(response, 200, "text/html; charset=utf-8", this.built.html, { "content-security-policy": this.built.policy });
    }
    if (!login) return send(response, 401, "text/plain; charset=utf-8", "run mcp-manager open\n");
    const key = path === "/events" ? url.searchParams.get("key") : request.headers["x-page-key"];
    if (!BrowserLogins.keyMatches(key, login)) return sendJson(response, 403, { error: "forbidden: run mcp-manager open" });
    if (path === "/events" && method === "GET") return this.events(url, response);
    if (path.startsWith("/logs/") && method === "GET") return this.fullLog(response, path.slice("/logs/".length));
    if (path.startsWith("/actions/") && method === "POST") {
      if (request.headers.origin !== `http://${request.headers.host}`)
        return sendJson(response, 403, { error: "forbidden: actions come from the status page itself" });
      return this.action(request, response, path.slice("/actions/".length));
    }
    return sendJson(response, 405, { error: `${method} ${path} is not a status page route` });
  }

  /**
   * Redeems a one-time link: the cookie, then on to the page with its key in the fragment. A page of ours does
   * that last step (not a redirect), so the navigation to `/` is same-site and the Strict cookie goes with it,
   * even when the link was opened from a file or another application.
   */
  private login(url: URL, response: ServerResponse): void {
    const login = this.logins.redeem(url.searchParams.get("once") ?? "");
    if (!login)
      return send(
        response,
        403,
        "text/plain; charset=utf-8",
        "This link was used already or is over a minute old: run mcp-manager open again.\n",
      );
    const next = `/#key=${login.key}`;
    const html =
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${next}">` +
      `<title>mcp-session-manager</title></head><body><p><a href="${next}">Open the status page</a></p></body></html>\n`;
    send(response, 200, "text/html; charset=utf-8", html, { "set-cookie": this.logins.cookieFor(login) });
  }

  private events(url: URL, response: ServerResponse): void {
    const file = this.logFile(url.searchParams.get("log") ?? "manager");
    if (!this.feed.watch(response, file, SECURITY_HEADERS)) sendJson(response, 503, { error: "too many status pages are open; close one" });
  }

  /** The log file of `name` ("manager" or a configured server), never a path taken from the request. */
  private logFile(name: string): string | undefined {
    if (name === "manager") return managerLogPath(this.control.home);
    return this.control.known().some((daemon) => daemon.name === name) ? logPath(name, this.control.home) : undefined;
  }

  /** A whole log, by its server's name; a name that does not decode, or is not configured, has none. */
  private fullLog(response: ServerResponse, encoded: string): void {
    let name: string;
    try {
      name = decodeURIComponent(encoded);
    } catch {
      return send(response, 404, "text/plain; charset=utf-8", "no such log\n");
    }
    const file = this.logFile(name);
    let fd: number;
    let size: number;
    try {
      if (file === undefined) throw new Error("not configured");
      fd = openSync(file, "r");
      size = fstatSync(fd).size;
    } catch {
      return send(response, 404, "text/plain; charset=utf-8", `no log for ${JSON.stringify(name)} (yet)\n`);
    }
    // What the file holds now: a log rotated meanwhile is read up to the size it had when opened.
    response.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "content-length": String(size) });
    if (size === 0) return void (closeSync(fd), response.end());
    pipeline(createReadStream("", { fd, start: 0, end: size - 1 }), response).catch(() => response.destroy());
  }

  private async action(request: IncomingMessage, response: ServerResponse, action: string): Promise<void> {
    if (!Object.hasOwn(ACTIONS, action)) return sendJson(response, 404, { error: `no such action: ${action}` });
    if (!declaresJson(request)) return sendJson(response, 415, { error: "the body must be JSON" });
    let name: unknown;
    try {
      name = (JSON.parse(await readBoundedBody(request, 4096)) as { name?: unknown }).name;
    } catch (error) {
      return sendJson(response, error instanceof BodyTooLarge ? 413 : 400, { error: 'the body must be {"name": "..."}' });
    }
    const daemon = typeof name === "string" ? await this.control.daemon(name) : undefined;
    if (!daemon) return sendJson(response, 404, { error: `no server named ${JSON.stringify(name)}` });
    try {
      const deadline = Date.now() + daemon.server.startTimeoutMs;
      await ACTIONS[action as keyof typeof ACTIONS](daemon);
      // Done once the server is up, as mcp-manager start and restart say it (runtime/server-outcome.ts).
      if (action !== "stop") {
        const outcome = await serverOutcome(daemon.server, this.control.home, deadline);
        if (!outcome.ok) return sendJson(response, 502, { error: `the daemon runs, but ${outcome.why}` });
      }
      sendJson(response, 200, await daemon.report());
    } catch (error) {
      sendJson(response, error instanceof SupervisorRefusal ? error.status : 500, { error: (error as Error).message });
    }
  }

  /** The page's script (its style sheet is inline, see buildPage). */
  private script(response: ServerResponse): void {
    try {
      send(response, 200, "text/javascript; charset=utf-8", readFileSync(`${ASSETS}page.js`));
    } catch {
      send(response, 404, "text/plain; charset=utf-8", "page.js is missing from this installation\n");
    }
  }
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, ...headers }).end(body);
}

/**
 * The page with its style sheet inline: a linked one would hold the first paint back by one more request. The
 * policy allows that one sheet by its hash, and still no other inline style or script.
 */
function buildPage(): { html: string; policy: string } {
  const css = readFileSync(`${ASSETS}page.css`, "utf8");
  const hash = createHash("sha256").update(css).digest("base64");
  const html = readFileSync(`${ASSETS}index.html`, "utf8").replace(
    '<link rel="stylesheet" href="/page.css" />',
    () => `<style>${css}</style>`,
  );
  return { html, policy: SECURITY_HEADERS["content-security-policy"].replace("style-src 'self'", `style-src 'sha256-${hash}'`) };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, "application/json", JSON.stringify(body) + "\n");
}
