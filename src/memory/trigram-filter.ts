/**
 * An FTS5 query (trigram tokenizer) for rows that may contain `needle`: every text containing it contains the
 * needle's trigrams taken end to end (the last one overlapping when the length is not a multiple of three), so
 * these few, ANDed, find a small superset that `instr` then confirms. Asking for the needle as a phrase reads
 * every one of its overlapping trigrams with their positions: three times the lists, about three times as slow
 * on a large graph whose texts share words. Undefined for a needle shorter than a trigram (that is a scan).
 */
export function trigramFilter(needle: string): string | undefined {
  const characters = [...needle];
  if (characters.length < 3) return undefined;
  const trigrams: string[] = [];
  for (let at = 0; at + 3 <= characters.length; at += 3) trigrams.push(characters.slice(at, at + 3).join(""));
  if (characters.length % 3 !== 0) trigrams.push(characters.slice(-3).join(""));
  return trigrams.map((trigram) => `"${trigram.replace(/"/g, '""')}"`).join(" AND ");
}
