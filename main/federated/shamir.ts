import type { Rng } from './random';

/**
 * Shamir t-of-n secret sharing over the prime field GF(2^255 − 19). Secrets are 32-byte
 * values below the prime (X25519 scalars after clamping are below 2^255 and are re-drawn in the
 * astronomically rare case they are not below p).
 */
export const FIELD_PRIME = (1n << 255n) - 19n;
const P = FIELD_PRIME;

export interface Share {
  /** Evaluation point 1..n (the holder's index in the round). */
  x: number;
  y: bigint;
}

const mod = (a: bigint): bigint => {
  const r = a % P;
  return r < 0n ? r + P : r;
};

/** Modular inverse by the extended Euclidean algorithm. */
function inverse(a: bigint): bigint {
  let [r0, r1] = [mod(a), P];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(s0);
}

// Little-endian bytes → bigint: 32 bytes (every share and secret) as four 64-bit words, 2.5× faster
// than through a hex string (the server converts (K + 1)·tk·… shares between the last unmask answer
// and the result); other lengths through one hex string (a byte-at-a-time shift loop is 32 bigint
// allocations per value).
/** Little-endian bytes → integer. */
export function bytesToField(b: Uint8Array): bigint {
  if (b.length === 32) {
    const v = new DataView(b.buffer, b.byteOffset, 32);
    return (v.getBigUint64(24, true) << 192n) | (v.getBigUint64(16, true) << 128n) | (v.getBigUint64(8, true) << 64n) | v.getBigUint64(0, true);
  }
  return b.length ? BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`) : 0n;
}

/** Whether 32 little-endian bytes encode a value below p = 2^255 − 19, without a bigint. */
export function belowFieldPrime(b: Uint8Array): boolean {
  if (b.length !== 32) return false;
  if (b[31]! < 0x7f) return true;
  if (b[31]! > 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (b[i] !== 0xff) return true;
  return b[0]! < 0xed;
}

/** Integer → 32 bytes little-endian (its low 256 bits, as the former byte loop did). */
export const fieldToBytes = (v: bigint): Buffer => Buffer.from(BigInt.asUintN(256, v).toString(16).padStart(64, '0'), 'hex').reverse();

/** A uniformly random field element, by rejection from 255-bit draws. */
export function randomField(rng: Rng): bigint {
  for (;;) {
    const b = rng.bytes(32);
    b[31]! &= 0x7f;
    const v = bytesToField(b);
    if (v < P) return v;
  }
}

/** Splits `secret` into n shares so that any t of them rebuild it and t − 1 reveal nothing. */
export function split(secret: bigint, n: number, t: number, rng: Rng): Share[] {
  if (!(t >= 1 && t <= n)) throw new Error(`threshold ${t} must be between 1 and ${n}`);
  return splitAt(secret, Array.from({ length: n }, (_, i) => i + 1), t, rng);
}

/** Like `split`, evaluated only at the given points (the holders): the cost follows the holders, not n. */
export function splitAt(secret: bigint, xs: readonly number[], t: number, rng: Rng): Share[] {
  if (!(t >= 1 && t <= xs.length)) throw new Error(`threshold ${t} must be between 1 and ${xs.length}`);
  if (secret < 0n || secret >= P) throw new Error('secret is outside the field');
  if (xs.some((x) => !(Number.isInteger(x) && x > 0)) || new Set(xs).size !== xs.length) throw new Error('share points must be distinct positive integers');
  const coeffs: bigint[] = [secret];
  for (let i = 1; i < t; i++) coeffs.push(randomField(rng));
  return xs.map((x) => {
    // Horner's rule from the highest coefficient.
    const bx = BigInt(x);
    let y = 0n;
    for (let i = t - 1; i >= 0; i--) y = (y * bx + coeffs[i]!) % P;
    return { x, y };
  });
}

/**
 * Lagrange weights at 0 for the given evaluation points; reusable for every secret shared over the
 * same points. w_i = Π_{j≠i} x_j / Π_{j≠i} (x_j − x_i). The points are small integers, so numerator
 * and denominator are exact integer products (no reduction needed until the end), and the t
 * denominators are inverted together (Montgomery's batch inversion: one modular inverse and 3(t − 1)
 * multiplications instead of t inverses). On fl2's ring every camera's secret has its own holder set,
 * so the server computes one set of weights per camera at unmasking: this is on the critical path.
 */
export function lagrangeAtZero(xs: readonly number[]): bigint[] {
  if (new Set(xs).size !== xs.length) throw new Error('duplicate share points');
  const t = xs.length;
  const nums: bigint[] = new Array(t);
  const dens: bigint[] = new Array(t);
  for (let i = 0; i < t; i++) {
    let num = 1n;
    let den = 1n;
    const xi = xs[i]!;
    for (let j = 0; j < t; j++) {
      if (j === i) continue;
      num *= BigInt(xs[j]!);
      den *= BigInt(xs[j]! - xi);
    }
    nums[i] = mod(num);
    dens[i] = mod(den);
  }
  // prefix[i] = dens[0]·…·dens[i−1]
  const prefix: bigint[] = new Array(t);
  let acc = 1n;
  for (let i = 0; i < t; i++) {
    prefix[i] = acc;
    acc = (acc * dens[i]!) % P;
  }
  let inv = inverse(acc);
  const out: bigint[] = new Array(t);
  for (let i = t - 1; i >= 0; i--) {
    // inv = (dens[0]·…·dens[i])^−1 here.
    out[i] = (((inv * prefix[i]!) % P) * nums[i]!) % P;
    inv = (inv * dens[i]!) % P;
  }
  return out;
}

/**
 * Interpolates the polynomial through the shares at 0. With at least t shares of one sharing this is
 * the secret; with fewer it is a field element unrelated to it.
 */
export function combine(shares: readonly Share[], weights = lagrangeAtZero(shares.map((s) => s.x))): bigint {
  // One reduction at the end: the sum of t products of two elements below p is exact in a bigint.
  let acc = 0n;
  for (let i = 0; i < shares.length; i++) acc += shares[i]!.y * weights[i]!;
  return mod(acc);
}

/**
 * A fixed set of share points H (one secret's holders) prepared so that the secret can be rebuilt
 * from ANY t of them cheaply, whichever t answer first. The barycentric weights
 * β_i = 1 / Π_{j∈H, j≠i} (x_i − x_j) are computed once (ahead of the round); for a subset S ⊆ H,
 * 1 / Π_{j∈S, j≠i} (x_i − x_j) = β_i · Π_{j∈H∖S} (x_i − x_j), so the Lagrange weight at 0,
 * L_i = Π_{j∈S, j≠i} (−x_j) / (x_i − x_j), needs only small-integer products and one product with
 * β_i: no modular inverse at rebuild time. (lagrangeAtZero per subset is one inverse and ~t² bigint
 * products, ~0.2 ms at t = 20 here; the server rebuilds one secret per camera, as answers arrive.)
 */
export interface PointSet {
  readonly xs: readonly number[];
  /** β_i, in the order of xs. */
  readonly beta: readonly bigint[];
  /** x → its position in xs. */
  readonly at: ReadonlyMap<number, number>;
}

/**
 * Products of small integers (|v| < 2^26 each) kept in doubles while exact, then in one bigint:
 * Π v, or with `from`, Π (from − v) (without making the differences into an array first).
 */
function smallProduct(values: readonly number[], from?: number): bigint {
  let big = 1n;
  let acc = 1;
  for (const x of values) {
    const v = from === undefined ? x : from - x;
    if (Math.abs(acc * v) >= 2 ** 53) {
      big *= BigInt(acc);
      acc = 1;
    }
    acc *= v;
  }
  return big * BigInt(acc);
}

/**
 * Prepares several point sets at once: every denominator of every set is inverted together
 * (Montgomery's batch inversion: one modular inverse in all).
 */
export function pointSets(sets: readonly (readonly number[])[]): PointSet[] {
  const dens: bigint[] = [];
  for (const xs of sets) {
    if (new Set(xs).size !== xs.length) throw new Error('duplicate share points');
    if (xs.some((x) => !(Number.isInteger(x) && x > 0 && x < 2 ** 25))) throw new Error('share points must be integers 1..2^25');
    for (const xi of xs) {
      const d = mod(smallProduct(xs.filter((xj) => xj !== xi), xi));
      dens.push(d);
    }
  }
  const prefix: bigint[] = new Array(dens.length);
  let acc = 1n;
  for (let i = 0; i < dens.length; i++) {
    prefix[i] = acc;
    acc = (acc * dens[i]!) % P;
  }
  let inv = dens.length ? inverse(acc) : 1n;
  const betas: bigint[] = new Array(dens.length);
  for (let i = dens.length - 1; i >= 0; i--) {
    betas[i] = (inv * prefix[i]!) % P;
    inv = (inv * dens[i]!) % P;
  }
  let k = 0;
  return sets.map((xs) => {
    const beta = xs.map(() => betas[k++]!);
    return { xs: [...xs], beta, at: new Map(xs.map((x, i) => [x, i])) };
  });
}

/**
 * The polynomial through the shares at 0, the shares being at distinct points of `set` (any number
 * of them; with at least t shares of one sharing this is the secret). Same value as combine().
 */
export function interpolateAtZero(set: PointSet, shares: readonly Share[]): bigint {
  const inS = new Uint8Array(set.xs.length);
  for (const s of shares) {
    const at = set.at.get(s.x);
    if (at === undefined) throw new Error(`share point ${s.x} is not one of the set's`);
    if (inS[at]) throw new Error('duplicate share points');
    inS[at] = 1;
  }
  const all = smallProduct(shares.map((s) => s.x)); // Π_{j∈S} x_j
  const outside: number[] = [];
  for (let j = 0; j < set.xs.length; j++) if (!inS[j]) outside.push(set.xs[j]!);
  const negative = shares.length % 2 === 0; // the sign (−1)^{|S|−1} of Π_{j∈S, j≠i} (−x_j)
  let acc = 0n;
  for (const s of shares) {
    // Π_{j∈S, j≠i} x_j · Π_{j∈H∖S} (x_i − x_j), exact.
    const f = (all / BigInt(s.x)) * smallProduct(outside, s.x);
    // Not reduced per share: the sum of |S| products of two values below p and a small-integer f is
    // exact in a bigint, and one reduction at the end costs less than |S| divisions by p.
    acc += s.y * (set.beta[set.at.get(s.x)!]! * f);
  }
  return mod(negative ? -acc : acc);
}
