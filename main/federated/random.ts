import { createCipheriv, createHash } from 'node:crypto';

/**
 * The one random source the federated code uses. Simulation draws (data, shuffles, noise, camera
 * choice) come from a fast sfc32 generator; key material comes from an AES-256-CTR keystream keyed
 * from the same seed, so a run is reproducible in tests and unpredictable when the seed is secret
 * (the app passes 32 bytes from crypto.randomBytes).
 */
export interface Rng {
  /** Uniform in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal. */
  normal(): number;
  /** Gamma(shape, 1). */
  gamma(shape: number): number;
  /** Cryptographic-strength bytes (given a secret seed). */
  bytes(n: number): Buffer;
  /** An independent generator derived from this one (one per camera, so cameras do not share a stream). */
  fork(label: string): Rng;
}

export function createRng(seed: string | number | Uint8Array): Rng {
  const seedBytes = typeof seed === 'string' || typeof seed === 'number' ? Buffer.from(String(seed)) : Buffer.from(seed);
  const h = createHash('sha256').update('omnisight.federated.rng').update(seedBytes).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12) | 1;
  const next32 = (): number => {
    // sfc32 (Chris Doty-Humphrey's small fast chaotic generator).
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32();
  const keyStream = createCipheriv('aes-256-ctr', createHash('sha256').update('bytes').update(h).digest(), Buffer.alloc(16));
  let spare: number | undefined;

  const float = (): number => (next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    // Box–Muller; 1 − u keeps log away from 0.
    const u = 1 - float();
    const v = float();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const gamma = (shape: number): number => {
    // Marsaglia & Tsang 2000; shapes below 1 boosted with U^(1/shape).
    if (shape < 1) return gamma(shape + 1) * Math.pow(1 - float(), 1 / shape);
    const dd = shape - 1 / 3;
    const cc = 1 / Math.sqrt(9 * dd);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + cc * x;
      } while (v <= 0);
      v = v * v * v;
      const u = float();
      if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + dd * (1 - v + Math.log(v))) return dd * v;
    }
  };
  return {
    float,
    int: (n) => Math.floor(float() * n),
    normal,
    gamma,
    bytes: (n) => keyStream.update(Buffer.alloc(n)),
    fork: (label) => createRng(Buffer.concat([h, Buffer.from(`/${label}`)])),
  };
}

/** Fisher–Yates shuffle in place. */
export function shuffle<T>(xs: T[] | Uint32Array, rng: Rng): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = xs[i]!;
    xs[i] = xs[j]!;
    xs[j] = t;
  }
}
