import { mulberry32, type Random } from '../kernel/random';

export type { Random } from '../kernel/random';

/** A seeded uniform source in [0, 1) (mulberry32). */
export const seededRandom = (seed: number): Random => mulberry32(seed);

/** Standard normal draw by Box–Muller from any uniform source. */
export function gaussian(random: Random): number {
  let u = random();
  while (u <= Number.MIN_VALUE) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
