/** `1 relation`, `2 relations`: a number and its noun, as people write them (nouns that take an s). */
export const countOf = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
