import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import { intake } from "../../src/protocol/intake.js";
import { RELAY_BYTES_FROM, largeAnswerId, relayableBytes, withResponseId } from "../../src/protocol/large-lines.js";
import { readLines } from "../../src/protocol/line-reader.js";
import { LineWriter } from "../../src/protocol/line-writer.js";
import { oversizedAnswerId, oversizedRequestId } from "../../src/protocol/oversized-line.js";

const big = "é€ 😀 ".repeat(20_000);
const result = JSON.stringify({ content: [{ type: "text", text: big }] });

/** A line cut into pieces at every `size` bytes, as reads deliver it (multi-byte characters cut too). */
function pieces(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

const joined = (line: Buffer[]) => Buffer.concat(line).toString();

test("withResponseId: replaces the id where serialisers put it, leaves the rest's bytes alone, and declines elsewhere", () => {
  const last = `{"result":${result},"jsonrpc":"2.0","id":17}`;
  const swapped = withResponseId(last, Buffer.from(last), 17, "client-1")!;
  assert.deepEqual(JSON.parse(joined(swapped)), { ...JSON.parse(last), id: "client-1" });

  const first = `{"jsonrpc":"2.0","id":17,"result":${result}}`;
  assert.deepEqual(JSON.parse(joined(withResponseId(first, Buffer.from(first), 17, 4)!)), { ...JSON.parse(first), id: 4 });
  // A string id is written as JSON writes it.
  assert.equal(JSON.parse(joined(withResponseId(first, Buffer.from(first), 17, 'a"b')!)).id, 'a"b');

  const declined = [
    // A second "id", plain or escaped, may be a repeated key that some parser keeps: the line is written anew.
    `{"jsonrpc":"2.0","id":17,"result":{"id":"inside"}}`,
    `{"jsonrpc":"2.0","id":2,"result":${result},"id":17}`,
    `{"jsonrpc":"2.0","id":17,"result":${result},"\u0069d":17}`,
    `{"result":${result},"i\u0064":2,"jsonrpc":"2.0","id":17}`,
    // Some other id than the child's, or the id inside rather than last.
    `{"result":{},"jsonrpc":"2.0","id":170}`,
    `{"result":{"id":17},"jsonrpc":"2.0","id":5}`,
    `{"jsonrpc":"2.0","result":{},"id":17 }`,
    `{"id":17,"jsonrpc":"2.0","result":{}}`,
  ];
  for (const text of declined) assert.equal(withResponseId(text, Buffer.from(text), 17, 4), undefined, text);
});

test("largeAnswerId: reads a successful answer's id from the edges of its pieces; anything else is left to the parser", () => {
  for (const size of [1, 7, 300, 1 << 20]) {
    assert.equal(largeAnswerId(pieces(`{"jsonrpc":"2.0","id":42,"result":${result}}`, size)), 42, `id first, pieces of ${size}`);
    assert.equal(largeAnswerId(pieces(`{"result":${result},"jsonrpc":"2.0","id":"req-9"}`, size)), "req-9", `id last, pieces of ${size}`);
  }
  const parsed = [
    `{"jsonrpc":"2.0","id":42,"error":{"code":1,"message":"${"x".repeat(300)}"}}`,
    `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":${result}}}`,
    `{"method":"x","params":${result},"jsonrpc":"2.0","id":3}`,
    `{"jsonrpc":"2.0","id":"é","result":${result}}`,
    `{"jsonrpc":"2.0","id":"a\\"b","result":${result}}`,
    `{"result":${result},"jsonrpc":"2.0","id":1.5}`,
    `{"result":${result},"jsonrpc":"2.0","id":"é"}`,
  ];
  for (const text of parsed) assert.equal(largeAnswerId(pieces(text, 4096)), undefined, text.slice(0, 60));
});

test("relayableBytes: only large lines of valid UTF-8 that are exactly the text parsed as the message", () => {
  const line = (text: string, bytes = Buffer.from(text)) => [text, bytes] as const;
  const small = `{"jsonrpc":"2.0","method":"m","params":{"x":"${"x".repeat(RELAY_BYTES_FROM - 100)}"}}`;
  assert.equal(relayableBytes(...line(small), small), undefined);
  const large = `{"jsonrpc":"2.0","method":"m","params":{"x":"${"é".repeat(RELAY_BYTES_FROM)}"}}`;
  assert.equal(relayableBytes(...line(large), large)?.toString(), large);
  const bad = Buffer.concat([Buffer.from(large.slice(0, -3)), Buffer.from([0xff]), Buffer.from('"}}')]);
  assert.equal(relayableBytes(...line(bad.toString(), bad), bad.toString()), undefined, "not UTF-8");
  // A CR inside the line: intake parses it, but gives the message's text anew (a CR would end a line in SSE).
  const withCr = `{\r"jsonrpc":"2.0","id":7,"result":${result}}`;
  const parsed = intake(withCr);
  assert.ok(parsed.kind === "messages" && parsed.items[0]!.kind === "response");
  assert.equal(relayableBytes(...line(withCr), parsed.items[0]!.text), undefined);
  // The items of a batch are each written anew.
  const batch = `[${large}]`;
  const items = intake(batch);
  assert.ok(items.kind === "messages" && items.items[0]!.kind !== "invalid");
  assert.equal(relayableBytes(...line(batch), items.items[0]!.text), undefined);
});

test("line reader: a large line is offered in its pieces first, with its CR dropped even when the LF opens the next chunk", async () => {
  const input = new PassThrough();
  const offered: string[] = [];
  const lines: string[] = [];
  let take = true;
  readLines(input, 64 * 1024 * 1024, {
    large: (line) => {
      offered.push(joined(line));
      return take;
    },
    line: (text, bytes) => {
      assert.equal(bytes.toString(), text);
      lines.push(text);
    },
    oversized: () => assert.fail("no line is over the limit"),
    end: () => {},
  });
  const line = `{"text":"${big}"}`;
  for (const piece of pieces(`${line}\r`, 5000)) input.write(piece);
  input.write("\nsmall\r\n");
  assert.deepEqual(offered, [line]);
  assert.deepEqual(lines, ["small"], "a small line is never offered; the taken one is not given again");
  take = false;
  input.write(`${line}\n`);
  assert.deepEqual(lines, ["small", line], "declined: decoded and given as usual");
  // A writer that dies mid-line: what it wrote is never taken as a line's bytes, only parsed (and refused).
  take = true;
  input.end(line.slice(0, -2));
  await new Promise((resolve) => input.on("end", resolve));
  assert.equal(offered.length, 2, "the cut line was not offered (the declined one was)");
  assert.equal(lines.length, 3);
  assert.ok(lines[2] === line.slice(0, -2), "the cut line was given to be parsed");
});

test("line writer: a line in pieces goes out whole with its newline, and counts its bytes while the reader is behind", () => {
  const written: Buffer[] = [];
  const waiting: Array<() => void> = [];
  const stream = new Writable({
    highWaterMark: 16,
    writev(chunks, done) {
      written.push(Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer)));
      waiting.push(done);
    },
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk);
      waiting.push(done);
    },
  });
  const writer = new LineWriter(stream, { maxQueuedBytes: 1000 });
  assert.equal(writer.write(pieces("ab€cd", 2)), true);
  assert.equal(Buffer.concat(written).toString(), "ab€cd\n", "one line, its pieces and newline together");
  assert.equal(writer.write([Buffer.alloc(600)]), true, "held: the stream asked to wait");
  assert.equal(writer.write([Buffer.alloc(600)]), false, "past the bound, counted in bytes");
  assert.ok(writer.queuedBytes >= 601);
});

test("oversized lines: an answer's id is read where serialisers put it, a request's likewise, and nothing else", () => {
  const cut = (line: string) => [line.slice(0, 512), line.slice(-512)] as const;
  const body = "x".repeat(2000);
  assert.equal(oversizedAnswerId(...cut(`{"jsonrpc":"2.0","id":7,"result":{"t":"${body}"}}`)), 7);
  assert.equal(oversizedAnswerId(...cut(`{"result":{"t":"${body}"},"jsonrpc":"2.0","id":"a"}`)), "a");
  assert.equal(oversizedAnswerId(...cut(`{ "jsonrpc": "2.0", "id": 8, "error": {"message":"${body}"} }`)), 8);
  for (const line of [
    `{"jsonrpc":"2.0","id":7,"method":"m","params":{"t":"${body}"}}`,
    `{"method":"m","params":{"t":"${body}"},"jsonrpc":"2.0","id":7}`,
    `{"jsonrpc":"2.0","method":"m","params":{"t":"${body}","id":7}}`,
    `{"params":{"t":"${body}"},"id":7}`,
  ]) {
    assert.equal(oversizedAnswerId(...cut(line)), undefined, line.slice(0, 40));
  }
  assert.equal(oversizedRequestId(...cut(`{"method":"m","params":{"t":"${body}"},"jsonrpc":"2.0","id":7}`)), 7);
  assert.equal(oversizedRequestId(...cut(`{"result":{"t":"${body}"},"jsonrpc":"2.0","id":7}`)), undefined);
});
