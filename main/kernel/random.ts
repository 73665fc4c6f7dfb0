/**
 * mulberry32: a small seeded 32-bit PRNG (Tommy Ettinger's construction), uniform in [0, 1). Not
 * cryptographic: it makes simulations, the simulator's scene and tests reproducible from a seed.
 * The one copy every capability uses (federated learning has its own, crypto-backed source).
 */
export type Random = () => number;

export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
