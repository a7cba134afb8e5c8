import { StreamableHttpTransport } from "./streamable-http.js";
import type { UpstreamOptions } from "./transport.js";

/** Plain HTTP JSON POST: one POST per message, the answer in the body; no server-initiated stream. */
export class PlainHttpTransport extends StreamableHttpTransport {
  constructor(options: UpstreamOptions) {
    super(options, false);
  }
}
