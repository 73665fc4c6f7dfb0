import { mulberry32 } from '../kernel/random';

/** A small seeded random source (mulberry32): fast, 32-bit state, good enough for simulation noise. */
export interface Rng {
  next(): number; // [0, 1)
  range(min: number, max: number): number;
  int(min: number, maxInclusive: number): number;
  normal(mean?: number, sd?: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  fork(salt: number): Rng;
}

export function createRng(seed: number): Rng {
  // Seed 0 maps to a fixed constant, as it always has, so every seed keeps the scene it gave before.
  const next = mulberry32(seed >>> 0 || 0x9e3779b9);
  let spare: number | undefined;
  const rng: Rng = {
    next,
    range: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    normal: (mean = 0, sd = 1) => {
      // Box-Muller, keeping the second value for the next call.
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return mean + sd * s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return mean + sd * r * Math.cos(2 * Math.PI * v);
    },
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
    fork: (salt) => createRng((Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) + Math.imul(salt + 1, 0x27d4eb2f)) >>> 0),
  };
  return rng;
}
