/** How a configured server is spoken to. A file of its own, without the config's schema (zod), which a proxy that finds its daemon running never loads. */
export const TRANSPORTS = ["stdio", "streamable-http", "sse", "http"] as const;
export type Transport = (typeof TRANSPORTS)[number];
export type HttpTransport = Exclude<Transport, "stdio">;

/** Client configs say `type: "http"` for streamable HTTP; accept what users paste from them. */
export const TYPE_ALIASES: Record<string, Transport> = {
  stdio: "stdio",
  http: "streamable-http",
  "streamable-http": "streamable-http",
  streamableHttp: "streamable-http",
  sse: "sse",
};

/** The transport an entry means: said outright, said the way client configs say it, or implied by a URL. */
export function resolveTransport(entry: { transport?: Transport; type?: string; url?: string }): Transport {
  if (entry.transport) return entry.transport;
  if (entry.type && entry.type in TYPE_ALIASES) return TYPE_ALIASES[entry.type]!;
  if (entry.url) return "streamable-http";
  return "stdio";
}
