import { isUtf8 } from "node:buffer";
import type { RequestId } from "./json-rpc.js";

/**
 * Large messages travel as the bytes they arrived in, rather than being serialised and encoded again in each
 * process they cross: a 3 MB answer (a whole knowledge graph, a screenshot) costs 10 – 25 ms per copy, parse or
 * encoding on a small machine. The daemon still parses every line a child writes (to check it and route it);
 * mcp-proxy reads the id of its daemon's large answers from their edges and does not parse them at all.
 *
 * What makes that safe is one rule, kept where bytes are passed on: a line goes on as bytes only when
 * - it is RELAY_BYTES_FROM bytes or more, of valid UTF-8;
 * - it is exactly the text that was parsed as one message (no batch, no CR inside it that parsing would have
 *   normalised away);
 * - for an answer whose id the daemon rewrites, `"id"` appears in it exactly once, spelled plainly (no escaped
 *   `\u0069`/`\u0064` anywhere), where serialisers put it: so the line has one top-level id, the one rewritten,
 *   whichever key a client's parser keeps.
 * Anything else is serialised again from the parsed message, which leaves no repeated keys. So every line our
 * daemon writes is valid JSON-RPC in UTF-8 with at most one top-level id, and that is what `largeAnswerId` relies
 * on. (Other keys a server repeats in its own answer reach its client as the server wrote them.)
 *
 * mcp-proxy also sends a client's large message to its daemon as the bytes it read (exactly its text). The daemon
 * parses it and writes every request to the child anew: it checks and rewrites requests (methods, task ids,
 * progress tokens) by its own parse, and the child must see the same request it checked.
 */
export const RELAY_BYTES_FROM = 64 * 1024;

/**
 * A received line's `bytes` (decoded: `text`), when the rule above lets them go on as the message `parsedText` is
 * the text of: undefined when the line is small, not valid UTF-8, or not exactly that message's text.
 */
export function relayableBytes(text: string, bytes: Buffer, parsedText: string): Buffer | undefined {
  return bytes.length >= RELAY_BYTES_FROM && parsedText === text && isUtf8(bytes) ? bytes : undefined;
}

/** `"id"` as a key may be written, and the escapes that could spell one (JSON has no other way to write i or d). */
const ID_KEYS = String.raw`"id"|\\u00(?:69|64)`;

/**
 * A child's answer, relayable as bytes, with its id replaced and the rest left as it came; undefined unless its
 * one `"id"` stands where serialisers put it, as JSON.stringify writes it: last, as `,"id":FROM}` at the very end
 * (the MCP TypeScript SDK), or second, right after `{"jsonrpc":"2.0",` (the Python SDK, our own answers).
 */
export function withResponseId(text: string, bytes: Buffer, from: number, to: RequestId): Buffer[] | undefined {
  // One pass: the first key-like match must be a plain "id", and there must be no second one.
  const keys = new RegExp(ID_KEYS, "g");
  if (keys.exec(text)?.[0] !== '"id"' || keys.exec(text) !== null) return undefined;
  const last = `,"id":${from}}`;
  if (text.endsWith(last)) return [bytes.subarray(0, bytes.length - last.length), Buffer.from(`,"id":${JSON.stringify(to)}}`)];
  const leading = `{"jsonrpc":"2.0","id":${from},`;
  if (text.startsWith(leading)) return [Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(to)},`), bytes.subarray(leading.length)];
  return undefined;
}

/** An id as JSON.stringify writes it: an integer, or a string of printable ASCII without escapes. */
const ID = String.raw`(-?\d{1,16}|"[\x20\x21\x23-\x5b\x5d-\x7e]{0,200}")`;
const LEADING = new RegExp(String.raw`^\{"jsonrpc":"2\.0","id":${ID},"result":`);
const TRAILING = new RegExp(String.raw`,"id":${ID}\}$`);
const EDGE = 256;

/**
 * The id of a large successful answer from our own daemon, read from the first and last bytes of its line alone (the
 * rule above: one top-level id, valid JSON-RPC): second after `"jsonrpc"` with `"result"` next, or last with
 * `"result"` first. Undefined for anything else, which is then parsed as usual.
 */
export function largeAnswerId(pieces: Buffer[]): RequestId | undefined {
  const head = edge(pieces, "head");
  const leading = LEADING.exec(head);
  if (leading) return JSON.parse(leading[1]!) as RequestId;
  if (!head.startsWith('{"result":')) return undefined;
  const trailing = TRAILING.exec(edge(pieces, "tail"));
  return trailing ? (JSON.parse(trailing[1]!) as RequestId) : undefined;
}

/** The first or last EDGE bytes of a line given in pieces, as Latin-1 (what the patterns look for is ASCII). */
function edge(pieces: Buffer[], which: "head" | "tail"): string {
  const taken: Buffer[] = [];
  let length = 0;
  for (let i = 0; i < pieces.length && length < EDGE; i++) {
    const piece = pieces[which === "head" ? i : pieces.length - 1 - i]!;
    const wanted = EDGE - length;
    if (which === "head") taken.push(piece.subarray(0, wanted));
    else taken.unshift(piece.subarray(Math.max(0, piece.length - wanted)));
    length += Math.min(piece.length, wanted);
  }
  return Buffer.concat(taken, length).toString("latin1");
}
