import type { HttpTransport } from "../config/transports.js";
import { LegacySseTransport } from "./legacy-sse.js";
import { PlainHttpTransport } from "./plain-http.js";
import { StreamableHttpTransport } from "./streamable-http.js";
import type { TransportFactory } from "./transport.js";

export const transports: Record<HttpTransport, TransportFactory> = {
  "streamable-http": (options) => new StreamableHttpTransport(options),
  sse: (options) => new LegacySseTransport(options),
  http: (options) => new PlainHttpTransport(options),
};
