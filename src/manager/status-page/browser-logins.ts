import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** How long a one-time login link works if nobody uses it. */
export const LINK_LIFETIME_MS = 60_000;
/** Links not used yet, and browsers logged in, kept at most: the oldest go first. */
const MAX_LINKS = 20;
const MAX_BROWSERS = 50;

/** A browser logged in to this manager run: its cookie, and the key its page sends with every request. */
export interface BrowserLogin {
  id: string;
  key: string;
}

/**
 * Who may see the status page: a browser that opened a one-time link (`mcp-manager open`) within a minute
 * of its making. The link gives it a cookie (HttpOnly, SameSite=Strict) and its page a key (in the URL's
 * fragment, which no server sees, kept in the page's sessionStorage, which no other origin reads). Both are
 * wanted for anything but the page's empty shell: a browser sends 127.0.0.1's cookies to every port there, so
 * a program on another port may get the cookie, but never the key. Both die with this manager run.
 */
export class BrowserLogins {
  private readonly links = new Map<string, number>();
  private readonly browsers = new Map<string, BrowserLogin>();

  constructor(
    /** The cookie's name: one per port, so that two homes' managers in one browser do not log each other out. */
    readonly cookieName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new one-time secret for the login link. */
  issueLink(): { secret: string; expiresAt: number } {
    this.dropExpiredLinks();
    const secret = token();
    const expiresAt = this.now() + LINK_LIFETIME_MS;
    this.links.set(secret, expiresAt);
    while (this.links.size > MAX_LINKS) this.links.delete(this.links.keys().next().value!);
    return { secret, expiresAt };
  }

  /** Logs a browser in with a link's secret: once, within its lifetime; undefined otherwise. */
  redeem(secret: string): BrowserLogin | undefined {
    this.dropExpiredLinks();
    const expiresAt = this.links.get(secret);
    if (expiresAt === undefined) return undefined;
    this.links.delete(secret);
    const login = { id: token(), key: token() };
    this.browsers.set(login.id, login);
    while (this.browsers.size > MAX_BROWSERS) this.browsers.delete(this.browsers.keys().next().value!);
    return login;
  }

  /**
   * The login whose cookie the request carries, if any. Every cookie of that name counts: another port's page
   * can add one (cookies ignore ports), and must not shadow ours.
   */
  loginOf(request: IncomingMessage): BrowserLogin | undefined {
    for (const id of cookieValues(request.headers.cookie, this.cookieName)) {
      const login = this.browsers.get(id);
      if (login) return login;
    }
    return undefined;
  }

  /** Whether `sent` (the `X-Page-Key` header, or the event stream's `key` parameter) is the login's page key. */
  static keyMatches(sent: unknown, login: BrowserLogin): boolean {
    if (typeof sent !== "string") return false;
    const [a, b] = [Buffer.from(sent), Buffer.from(login.key)];
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** The Set-Cookie value for a login: a session cookie no script can read and no other site can make us send. */
  cookieFor(login: BrowserLogin): string {
    return `${this.cookieName}=${login.id}; HttpOnly; SameSite=Strict; Path=/`;
  }

  private dropExpiredLinks(): void {
    const now = this.now();
    for (const [secret, expiresAt] of this.links) if (expiresAt <= now) this.links.delete(secret);
  }
}

function token(): string {
  return randomBytes(32).toString("base64url");
}

function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const part of (header ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) values.push(value.join("="));
  }
  return values;
}
