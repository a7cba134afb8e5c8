import type { RequestId } from "./json-rpc.js";

/**
 * A response's bytes with its top-level `id` replaced, without parsing or serialising the rest again: `text` is
 * the response as received (valid JSON, already parsed), `bytes` the same text as UTF-8. Undefined unless `id`
 * is where serialisers put it, in the form JSON.stringify gives:
 * - last, as `,"id":FROM}` at the very end (the MCP TypeScript SDK). In valid JSON, the members before the
 *   object's closing brace can only end in that way if this is the object's own last member; and of repeated
 *   keys, the last is the one parsers keep.
 * - second, right after `{"jsonrpc":"2.0",` (the Python SDK), and only when no other `"id"` appears anywhere in
 *   the text: a repeated key later on would be the one parsers keep.
 */
export function withResponseId(text: string, bytes: Buffer, from: number, to: RequestId): Buffer[] | undefined {
  const last = `,"id":${from}}`;
  if (text.endsWith(last)) return [bytes.subarray(0, bytes.length - last.length), Buffer.from(`,"id":${JSON.stringify(to)}}`)];
  const leading = `{"jsonrpc":"2.0","id":${from},`;
  if (text.startsWith(leading) && !text.includes('"id"', leading.length)) {
    return [Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(to)},`), bytes.subarray(leading.length)];
  }
  return undefined;
}
