/** Trigrams asked for at most: any of a needle's trigrams find a superset, and FTS5 parses each term it is given. */
const MAX_TRIGRAMS = 12;

/**
 * An FTS5 query (trigram tokenizer) for rows that may contain `needle`: every text containing it contains the
 * needle's trigrams taken end to end (the last one overlapping when the length is not a multiple of three), so
 * these, ANDed, find a small superset that `instr` then confirms. Asking for the needle as a phrase reads every
 * one of its overlapping trigrams with their positions: three times the lists, about three times as slow on a
 * large graph whose texts share words. A long needle is asked for by at most MAX_TRIGRAMS of them, spread over it
 * (the time FTS5 takes to parse a query grows faster than its terms: 0.4 s for a needle of 60,000 characters).
 * Undefined when no trigram can be asked for (a needle shorter than three characters, or one whose every trigram
 * holds a NUL, which ends an FTS5 query): such a needle is searched for by a scan.
 */
export function trigramFilter(needle: string): string | undefined {
  const characters = [...needle];
  const starts: number[] = [];
  for (let at = 0; at + 3 <= characters.length; at += 3) starts.push(at);
  if (characters.length >= 3 && characters.length % 3 !== 0) starts.push(characters.length - 3);
  const trigrams = [...new Set(starts.map((at) => characters.slice(at, at + 3).join("")))].filter((t) => !t.includes("\0"));
  if (trigrams.length === 0) return undefined;
  const asked =
    trigrams.length <= MAX_TRIGRAMS
      ? trigrams
      : Array.from({ length: MAX_TRIGRAMS }, (_, i) => trigrams[Math.round((i * (trigrams.length - 1)) / (MAX_TRIGRAMS - 1))]!);
  return asked.map((trigram) => `"${trigram.replace(/"/g, '""')}"`).join(" AND ");
}
