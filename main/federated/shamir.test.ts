import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRng } from './random';
import { belowFieldPrime, bytesToField, combine, FIELD_PRIME, fieldToBytes, interpolateAtZero, lagrangeAtZero, pointSets, randomField, split, splitAt } from './shamir';

describe('Shamir secret sharing over GF(2^255 − 19)', () => {
  const rng = createRng('shamir-test');

  it('rebuilds the secret from any t shares', () => {
    const secret = randomField(rng);
    const shares = split(secret, 10, 7, rng);
    for (let trial = 0; trial < 20; trial++) {
      const pick = [...shares].sort(() => rng.float() - 0.5).slice(0, 7);
      expect(combine(pick)).toBe(secret);
    }
    expect(combine(shares)).toBe(secret);
  });

  it('does not rebuild it from t − 1 shares, and those shares fit every other secret too', () => {
    const secret = randomField(rng);
    const shares = split(secret, 10, 7, rng);
    for (let trial = 0; trial < 20; trial++) {
      const pick = [...shares].sort(() => rng.float() - 0.5).slice(0, 6);
      expect(combine(pick)).not.toBe(secret);
    }
    // Perfect secrecy, concretely: for an arbitrary candidate secret s', the t − 1 shares plus the
    // point (0, s') define a degree t − 1 polynomial, so the shares are consistent with s' as well.
    const six = shares.slice(0, 6);
    const candidate = randomField(rng);
    const withCandidate = [...six, { x: 0, y: candidate }];
    // A seventh share taken from that polynomial, joined with the real six, rebuilds the candidate.
    expect(combine([...six, { x: 11, y: combineAt(withCandidate, 11) }])).toBe(candidate);
  });

  it('rebuilds from any t shares of a prepared holder set exactly as Lagrange does (what the fl2 server uses as answers arrive)', () => {
    // Holder sets as on the fl2 ring: 29 of 100 roster indexes, t = 20; and a small one.
    const sets = [Array.from({ length: 29 }, (_, i) => 1 + ((i * 37 + 5) % 100)), [3, 9, 4, 1, 7]];
    const prepared = pointSets(sets);
    sets.forEach((xs, s) => {
      const t = s === 0 ? 20 : 3;
      const secret = randomField(rng);
      const shares = splitAt(secret, xs, t, rng);
      for (let trial = 0; trial < 10; trial++) {
        const pick = [...shares].sort(() => rng.float() - 0.5).slice(0, t + (trial % 3));
        expect(interpolateAtZero(prepared[s]!, pick)).toBe(secret);
        // Below t it is some other field element, the same one combine() finds.
        const few = pick.slice(0, t - 1);
        expect(interpolateAtZero(prepared[s]!, few)).toBe(combine(few, lagrangeAtZero(few.map((x) => x.x))));
        expect(interpolateAtZero(prepared[s]!, few)).not.toBe(secret);
      }
    });
    // Points near the 2^25 bound: the products of points and of their differences leave the doubles
    // after two or three factors, so the exact bigint path is taken for both.
    const big = [2 ** 25 - 1, 2 ** 24 + 3, 5, 2 ** 25 - 7, 2 ** 23, 2 ** 25 - 2, 11];
    const [bigSet] = pointSets([big]);
    const bigSecret = randomField(rng);
    const bigShares = splitAt(bigSecret, big, 4, rng);
    for (let trial = 0; trial < 6; trial++) {
      const pick = [...bigShares].sort(() => rng.float() - 0.5).slice(0, 4 + (trial % 4));
      expect(interpolateAtZero(bigSet!, pick)).toBe(bigSecret);
      expect(interpolateAtZero(bigSet!, pick.slice(0, 3))).toBe(combine(pick.slice(0, 3), lagrangeAtZero(pick.slice(0, 3).map((x) => x.x))));
    }
    // Prepared together or one by one: the same weights.
    expect(pointSets([sets[1]!])[0]!.beta).toEqual(prepared[1]!.beta);
    expect(() => interpolateAtZero(prepared[1]!, [{ x: 2, y: 1n }])).toThrow(/not one of/);
    expect(() => interpolateAtZero(prepared[1]!, [{ x: 3, y: 1n }, { x: 3, y: 2n }])).toThrow(/duplicate/);
    expect(() => pointSets([[1, 2, 2]])).toThrow(/duplicate/);
  });

  it('refuses a threshold outside 1..n and a secret outside the field', () => {
    expect(() => split(1n, 5, 6, rng)).toThrow(/threshold/);
    expect(() => split(FIELD_PRIME, 5, 3, rng)).toThrow(/outside/);
  });
});

/** Lagrange evaluation at x (test helper, written independently of the module's at-zero weights). */
function combineAt(points: { x: number; y: bigint }[], x: number): bigint {
  const P = FIELD_PRIME;
  const pow = (b: bigint, e: bigint): bigint => {
    let r = 1n;
    let bb = ((b % P) + P) % P;
    let ee = e;
    while (ee > 0n) {
      if (ee & 1n) r = (r * bb) % P;
      bb = (bb * bb) % P;
      ee >>= 1n;
    }
    return r;
  };
  let acc = 0n;
  for (const pi of points) {
    let num = 1n;
    let den = 1n;
    for (const pj of points) {
      if (pj === pi) continue;
      num = (num * BigInt(x - pj.x)) % P;
      den = (den * BigInt(pi.x - pj.x)) % P;
    }
    acc = (acc + pi.y * num * pow(den, P - 2n)) % P;
  }
  return ((acc % P) + P) % P;
}

describe('field element encoding', () => {
  it('bytes ↔ field by hex equals the byte loops it replaced, on random values of every length', () => {
    const oldFrom = (b: Uint8Array): bigint => {
      let v = 0n;
      for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      return v;
    };
    const oldTo = (v: bigint): Buffer => {
      const out = Buffer.alloc(32);
      let x = v;
      for (let i = 0; i < 32; i++) {
        out[i] = Number(x & 0xffn);
        x >>= 8n;
      }
      return out;
    };
    for (let len = 0; len <= 40; len++)
      for (let k = 0; k < 5; k++) {
        const b = randomBytes(len);
        if (k === 1) b.fill(0);
        if (k === 2) b.fill(0xff);
        expect(bytesToField(b)).toBe(oldFrom(b));
      }
    for (const v of [0n, 1n, FIELD_PRIME - 1n, FIELD_PRIME, (1n << 256n) - 1n, 1n << 256n, -1n, -(1n << 300n) + 7n, ...Array.from({ length: 50 }, () => bytesToField(randomBytes(32 + (randomBytes(1)[0]! % 8))))]) {
      expect(fieldToBytes(v).equals(oldTo(v))).toBe(true);
      expect(fieldToBytes(v)).toHaveLength(32);
    }
  });
});

describe('fast paths against bigint references (fixed seed)', () => {
  const rng = createRng('shamir-fast-paths');
  const hexRef = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);

  it('bytesToField on 32 bytes (four 64-bit words) equals the hex conversion, also inside a larger buffer', () => {
    const pool = Buffer.alloc(64 * 40);
    for (let k = 0; k < 500; k++) {
      const b = rng.bytes(32);
      if (k === 0) b.fill(0);
      if (k === 1) b.fill(0xff);
      expect(bytesToField(b)).toBe(hexRef(b));
      // At an odd offset of a shared buffer (as Buffer.from(base64) slices of Node's pool are).
      const at = 1 + (k % 37) * 64 + (k % 7);
      b.copy(pool, at);
      expect(bytesToField(pool.subarray(at, at + 32))).toBe(hexRef(b));
    }
  });

  it('belowFieldPrime says exactly whether the value is below 2^255 − 19', () => {
    const edges = [0n, 1n, FIELD_PRIME - 2n, FIELD_PRIME - 1n, FIELD_PRIME, FIELD_PRIME + 1n, (1n << 255n) - 1n, 1n << 255n, (1n << 256n) - 1n, 0x7fn << 248n, (0x7fn << 248n) - 1n, (0x80n << 248n)];
    const near = Array.from({ length: 64 }, (_, i) => FIELD_PRIME - 32n + BigInt(i));
    const random = Array.from({ length: 300 }, (_, i) => {
      const b = rng.bytes(32);
      // Half of them with a top byte of 0x7f (and some with all-0xff middles), where the answer turns.
      if (i % 2) b[31] = 0x7f;
      if (i % 6 === 1) b.fill(0xff, 1, 31);
      return hexRef(b);
    });
    for (const v of [...edges, ...near, ...random]) expect(belowFieldPrime(fieldToBytes(v))).toBe(v < FIELD_PRIME);
    expect(belowFieldPrime(Buffer.alloc(31))).toBe(false);
  });

  it('combine with precomputed weights (one reduction at the end) equals a term-by-term reduction', () => {
    for (let trial = 0; trial < 20; trial++) {
      const t = 2 + (trial % 20);
      const xs = Array.from({ length: t + 5 }, (_, i) => i + 1 + trial).filter((_, i) => i % 3 !== 1 || t > 10).slice(0, t);
      const secret = randomField(rng);
      const shares = splitAt(secret, xs, t, rng);
      const w = lagrangeAtZero(xs);
      let ref = 0n;
      for (let i = 0; i < t; i++) ref = (ref + shares[i]!.y * w[i]!) % FIELD_PRIME;
      expect(combine(shares, w)).toBe(ref);
      expect(combine(shares, w)).toBe(secret);
    }
  });
});
