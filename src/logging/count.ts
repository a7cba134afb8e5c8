/** `1 relation`, `2 relations`, `1 entity`, `3 entities`: a number and its noun, as people write them. */
export const countOf = (n: number, noun: string, plural = `${noun}s`): string => `${n} ${n === 1 ? noun : plural}`;
