import { parseArgs } from "node:util";
import { isHttpUrl } from "../config/http-url.js";
import { TRANSPORTS, type HttpTransport } from "../config/transports.js";

/**
 * mcp-proxy's command line, read with Node's built-in parseArgs: one proxy runs per client session and
 * server, so the ~10 ms and ~4 MB a general CLI framework costs at every start are worth saving here.
 */
export interface ProxyArguments {
  target?: string;
  url?: URL;
  transport: HttpTransport;
  config?: string;
  maxMessageBytes: number;
  startTimeoutMs: number;
}

export const USAGE = `Usage: mcp-proxy --target NAME [--config FILE]
       mcp-proxy --url URL [--transport streamable-http|sse|http]

stdio <-> HTTP bridge from one MCP client session to a shared daemon.

Options:
  --target NAME              server name from the config; its daemon is started if needed
  --url URL                  http(s) URL of an MCP server not in the config (never started by the proxy)
  --transport KIND           transport for --url: streamable-http (default), sse, http
  --config FILE              config file (default: <home>/config.json)
  --max-message-bytes N      longest stdin line accepted (default 33554432)
  --start-timeout MS         how long to wait for a --url daemon to answer (default 30000)
  -v, --version              print the version
  -h, --help                 print this help`;

export class UsageError extends Error {
  override name = "UsageError";
}

const HTTP_TRANSPORTS = TRANSPORTS.filter((t): t is HttpTransport => t !== "stdio");

export function parseProxyArguments(argv: string[]): ProxyArguments | "help" | "version" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        target: { type: "string" },
        url: { type: "string" },
        transport: { type: "string" },
        config: { type: "string" },
        "max-message-bytes": { type: "string" },
        "start-timeout": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return "help";
  if (values.version) return "version";
  if (values.target && values.url) throw new UsageError("give --target or --url, not both");
  if (!values.target && !values.url) throw new UsageError("give --target NAME (from the config) or --url URL");
  if (values.url && !isHttpUrl(values.url)) throw new UsageError(`--url ${values.url} is not an http(s) URL`);
  const transport = (values.transport ?? "streamable-http") as HttpTransport;
  if (!HTTP_TRANSPORTS.includes(transport)) {
    throw new UsageError(`--transport must be one of ${HTTP_TRANSPORTS.join(", ")}, not "${values.transport}"`);
  }
  const parsed: ProxyArguments = {
    transport,
    maxMessageBytes: positive("--max-message-bytes", values["max-message-bytes"], 32 * 1024 * 1024),
    startTimeoutMs: positive("--start-timeout", values["start-timeout"], 30_000),
  };
  if (values.target) parsed.target = values.target;
  if (values.url) parsed.url = new URL(values.url);
  if (values.config) parsed.config = values.config;
  return parsed;
}

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new UsageError(`${flag} must be a positive integer, not "${value}"`);
  return parsed;
}
