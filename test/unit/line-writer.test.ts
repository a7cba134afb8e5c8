import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { LineWriter } from "../../src/protocol/line-writer.js";

/** A reader that takes nothing until told to. */
function slowReader() {
  const chunks: string[] = [];
  let release: Array<() => void> = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      release.push(done);
    },
  });
  const drain = () => {
    const pending = release;
    release = [];
    for (const done of pending) done();
  };
  return { stream, chunks, drain };
}

test("line writer: holds lines while the reader is behind, says so, flushes in order on drain, refuses past its bound", async () => {
  const reader = slowReader();
  const writer = new LineWriter(reader.stream, { maxQueuedBytes: 200 });
  const pressure: boolean[] = [];
  writer.onpressure = (waiting) => pressure.push(waiting);
  assert.equal(writer.write("x".repeat(20)), true);
  assert.deepEqual(pressure, [true], "the stream asked to wait");
  for (let i = 0; i < 5; i++) assert.equal(writer.write(`line ${i}`), true);
  assert.equal(writer.write("y".repeat(200)), false, "over the bound: refused");
  assert.ok(writer.queuedBytes > 20);
  for (let round = 0; round < 10 && pressure.length < 2; round++) {
    reader.drain();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(pressure, [true, false], "drained: the owner may read again");
  let flushed = false;
  void writer.flushed().then(() => (flushed = true));
  for (let round = 0; round < 10 && !flushed; round++) {
    reader.drain();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.equal(flushed, true, "flushed() resolves once every held line has been written out");
  assert.deepEqual(reader.chunks.join("").split("\n").filter(Boolean), ["x".repeat(20), "line 0", "line 1", "line 2", "line 3", "line 4"]);
});
