/** Randomness, injected so jitter and server choice are reproducible under test. */
export interface Random {
  /** A number in [0, 1). */
  next(): number;
}

/** Random lowercase hex string of `length` characters. */
export function randomHex(random: Random, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += Math.floor(random.next() * 16).toString(16);
  return out;
}
