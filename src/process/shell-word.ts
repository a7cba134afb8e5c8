/** A word as a POSIX shell reads it back: as it is when plain, else single-quoted. For commands we print. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
