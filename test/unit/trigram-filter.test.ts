import assert from "node:assert/strict";
import { test } from "node:test";
import { trigramFilter } from "../../src/memory/trigram-filter.js";

test("trigram filter: the needle's trigrams end to end, the last overlapping, each quoted", () => {
  assert.equal(trigramFilter("ab"), undefined, "below a trigram: a scan");
  assert.equal(trigramFilter("abc"), '"abc"');
  assert.equal(trigramFilter("abcd"), '"abc" AND "bcd"');
  assert.equal(trigramFilter("abcdef"), '"abc" AND "def"');
  assert.equal(trigramFilter('a"bcd'), '"a""b" AND "bcd"', "a quote is doubled inside its quotes");
  assert.equal(trigramFilter("東京タワー"), '"東京タ" AND "タワー"', "characters, not UTF-16 units");
});

test("trigram filter: repeats once, a NUL never (it ends an FTS5 query), a long needle by twelve trigrams spread over it", () => {
  assert.equal(trigramFilter("abcabcabc"), '"abc"');
  assert.equal(trigramFilter("a\0bcde"), '"cde"', "the trigram holding the NUL is left out");
  assert.equal(trigramFilter("a\0b"), undefined, "nothing left to ask for: a scan");
  const needle = Array.from({ length: 40 }, (_, i) => String(i).padStart(3, "0")).join("");
  const asked = trigramFilter(needle)!.split(" AND ");
  assert.equal(asked.length, 12);
  assert.equal(asked[0], '"000"', "the first trigram");
  assert.equal(asked.at(-1), '"039"', "the last trigram");
  assert.equal(new Set(asked).size, 12, "twelve different ones");
});
