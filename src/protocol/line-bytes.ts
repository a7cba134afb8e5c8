import { isUtf8 } from "node:buffer";

/**
 * From this size on, a message is relayed as the bytes it arrived in rather than encoded again from its text:
 * a 3 MB answer (a whole knowledge graph, a screenshot) costs some 25 ms to serialise and encode once more on a
 * small machine, per process it passes through. Smaller messages are cheaper to write from their text in one go.
 */
export const RELAY_BYTES_FROM = 64 * 1024;

/**
 * The bytes of one received line, when they are worth relaying as they are: a large line of valid UTF-8. Bytes
 * that are not UTF-8 are never passed on; their text, with U+FFFD where bytes were bad, is.
 */
export function relayableBytes(bytes: Buffer | undefined): Buffer | undefined {
  return bytes !== undefined && bytes.length >= RELAY_BYTES_FROM && isUtf8(bytes) ? bytes : undefined;
}
