import type { Random } from '../kernel/random';

export { mulberry32, type Random } from '../kernel/random';

/** Integer in [lo, hi] inclusive. */
export const randInt = (rnd: Random, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(rnd: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
