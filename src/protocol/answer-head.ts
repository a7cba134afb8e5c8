import type { RequestId } from "./json-rpc.js";

/** An id as JSON.stringify writes it: an integer, or a string of printable ASCII without escapes. */
const ID = String.raw`(-?\d{1,16}|"[\x20\x21\x23-\x5b\x5d-\x7e]{0,200}")`;
const LEADING = new RegExp(String.raw`^\{"jsonrpc":"2\.0","id":${ID},"result":`);
const TRAILING = new RegExp(String.raw`,"id":${ID}\}$`);

/**
 * The id of a successful answer, read from the first and last bytes of its line alone, for a line that comes
 * from our own daemon: every line it writes is a valid JSON-RPC message in UTF-8 that it parsed or built itself
 * (what it relays as received it has parsed, and checked to be UTF-8), so the form at its edges is enough to
 * tell an answer and its id. Undefined unless the id is where serialisers put it:
 * second after `"jsonrpc"` with `"result"` next (the Python SDK, our daemon's own answers), or last with
 * `"result"` first (the MCP TypeScript SDK); anything else is parsed as usual.
 */
export function answerId(pieces: Buffer[]): RequestId | undefined {
  const head = edge(pieces, "head");
  const leading = LEADING.exec(head);
  if (leading) return JSON.parse(leading[1]!) as RequestId;
  if (!head.startsWith('{"result":')) return undefined;
  const trailing = TRAILING.exec(edge(pieces, "tail"));
  return trailing ? (JSON.parse(trailing[1]!) as RequestId) : undefined;
}

const EDGE = 256;

/** The first or last EDGE bytes of a line given in pieces, as Latin-1 (what the patterns look for is ASCII). */
function edge(pieces: Buffer[], which: "head" | "tail"): string {
  const taken: Buffer[] = [];
  let length = 0;
  for (let i = 0; i < pieces.length && length < EDGE; i++) {
    const piece = pieces[which === "head" ? i : pieces.length - 1 - i]!;
    if (which === "head") taken.push(piece);
    else taken.unshift(piece);
    length += piece.length;
  }
  const joined = Buffer.concat(taken, length);
  return which === "head" ? joined.toString("latin1", 0, EDGE) : joined.toString("latin1", Math.max(0, length - EDGE));
}
