import type { IncomingMessage } from "node:http";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * DNS-rebinding and cross-site defence for servers on 127.0.0.1: the Host must name a loopback address
 * (with our port), and an Origin, when a browser sends one, must be a loopback origin too.
 * Returns why the request is refused, or undefined when it may proceed.
 */
export function refuseNonLoopback(request: IncomingMessage, port: number): string | undefined {
  const host = request.headers.host;
  if (!host) return "missing Host header";
  const parsedHost = parseHostHeader(host);
  if (!parsedHost || !LOOPBACK_HOSTS.has(parsedHost.hostname) || (parsedHost.port !== undefined && parsedHost.port !== port)) {
    return `Host ${host} is not this loopback server`;
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== "null") {
    let hostname: string;
    try {
      hostname = new URL(origin).hostname;
    } catch {
      return `Origin ${origin} is not a URL`;
    }
    if (!LOOPBACK_HOSTS.has(hostname)) return `Origin ${origin} is not allowed`;
  } else if (origin === "null") {
    return "Origin null is not allowed";
  }
  return undefined;
}

function parseHostHeader(host: string): { hostname: string; port?: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.trim().toLowerCase());
  if (!match) return undefined;
  return match[2] === undefined ? { hostname: match[1]! } : { hostname: match[1]!, port: Number(match[2]) };
}
