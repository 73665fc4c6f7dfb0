import { describe, expect, it } from 'vitest';
import { quantize, quantizer } from './quantize';
import { createRng, type Rng } from './random';
import { QuorumError, quorum, runSecureAggregation, SecAggClient, type ClientMessage, type Phase } from './secagg';

const L = 4096;

/** Quantised "updates" shaped like real ones: small, mostly near zero, so a leak would stand out. */
function inputs(n: number, rng: Rng): Int32Array[] {
  const q = quantizer(4, n);
  return Array.from({ length: n }, () => quantize(Float64Array.from({ length: L }, () => 0.01 * rng.normal()), q));
}

function plainSum(xs: Int32Array[]): Int32Array {
  const s = new Int32Array(L);
  for (const x of xs) for (let i = 0; i < L; i++) s[i] = (s[i]! + x[i]!) | 0;
  return s;
}

function run(n: number, drops: Partial<Record<number, Phase>>, seed: string, tap?: (m: ClientMessage) => void) {
  const rng = createRng(seed);
  const xs = inputs(n, rng);
  const participants = xs.map((input, i) => ({ client: new SecAggClient(i + 1, rng.fork(`c${i + 1}`)), input, dropAfter: drops[i + 1] }));
  return { xs, result: () => runSecureAggregation({ round: `r-${seed}`, vectorLength: L, participants, tap }) };
}

const pearson = (a: Int32Array, b: Int32Array): number => {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
};

/** χ² of the top four bits of each word against the uniform distribution (15 degrees of freedom). */
const chiSquareTopBits = (v: Int32Array): number => {
  const bins = new Array<number>(16).fill(0);
  for (let i = 0; i < v.length; i++) bins[v[i]! >>> 28]!++;
  const e = v.length / 16;
  return bins.reduce((s, o) => s + (o - e) ** 2 / e, 0);
};
const CHI2_15_P001 = 37.7;

describe('secure aggregation (Bonawitz et al. 2017)', () => {
  it('gives the server exactly the sum of the quantised inputs', () => {
    const { xs, result } = run(9, {}, 'exact');
    const r = result();
    expect(Array.from(r.sum)).toEqual(Array.from(plainSum(xs)));
    expect(r.dropped).toEqual([]);
  });

  it('shows the server nothing that reveals one client’s update', () => {
    const seen: ClientMessage[] = [];
    const { xs, result } = run(9, {}, 'private', (m) => seen.push(m));
    const r = result();
    expect(seen.map((m) => m.kind)).toEqual([...Array(9).fill('advertise'), ...Array(9).fill('shares'), ...Array(9).fill('masked'), ...Array(9).fill('unmask')]);

    // No 16-byte run of any input appears anywhere in any message (vectors, keys, boxes, shares).
    const blobs = seen.flatMap((m): Uint8Array[] => {
      if (m.kind === 'advertise') return [m.cPk, m.sPk];
      if (m.kind === 'shares') return m.boxes.map((b) => b.box);
      if (m.kind === 'masked') return [new Uint8Array(m.y.buffer, m.y.byteOffset, m.y.byteLength)];
      return [...m.selfShares, ...m.keyShares].map((s) => s.y);
    });
    for (const x of xs) {
      const xb = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
      for (let off = 0; off + 16 <= xb.length; off += 256) {
        const window = xb.subarray(off, off + 16);
        for (const blob of blobs) expect(Buffer.from(blob).indexOf(window)).toBe(-1);
      }
    }

    const masked = seen.filter((m): m is Extract<ClientMessage, { kind: 'masked' }> => m.kind === 'masked');
    for (const m of masked) {
      const own = xs[m.from - 1]!;
      // Unrelated to the client's update: correlation at noise level (1/√L ≈ 0.016) and no shared values.
      expect(Math.abs(pearson(m.y, own))).toBeLessThan(0.08);
      expect(m.y.filter((v, i) => v === own[i]).length).toBeLessThan(3);
      // And uniform-looking, although the input itself is anything but.
      expect(chiSquareTopBits(m.y)).toBeLessThan(CHI2_15_P001);
      expect(chiSquareTopBits(own)).toBeGreaterThan(1000);
    }
    // Without the unmasking shares the server's sum of masked vectors is noise too.
    const rawSum = plainSum(masked.map((m) => m.y));
    expect(Math.abs(pearson(rawSum, r.sum))).toBeLessThan(0.08);
    expect(chiSquareTopBits(rawSum)).toBeLessThan(CHI2_15_P001);

    // Every client reveals either the self-mask share or the key share of a peer, never both.
    for (const m of seen) if (m.kind === 'unmask') expect(m.keyShares).toEqual([]);
  });

  it('still gives the exact sum when a third of the clients drop after masking', () => {
    const n = 12;
    expect(n - quorum(n)).toBe(4);
    // Two vanish after sharing keys (their pairwise masks are inside everyone else's input), two
    // after sending their masked input (their self-masks must be rebuilt from peers' shares).
    const { xs, result } = run(n, { 3: 'share', 8: 'share', 5: 'masked', 11: 'masked' }, 'dropouts');
    const r = result();
    expect(r.dropped.sort((a, b) => a - b)).toEqual([3, 8]);
    expect(r.included.sort((a, b) => a - b)).toEqual([1, 2, 4, 5, 6, 7, 9, 10, 11, 12]);
    const expected = plainSum(xs.filter((_, i) => ![3, 8].includes(i + 1)));
    expect(Array.from(r.sum)).toEqual(Array.from(expected));
  });

  it('aborts below the ⌈2n/3⌉ quorum, at whichever step it is lost', () => {
    const atMasked = run(12, { 1: 'share', 2: 'share', 3: 'share', 4: 'share', 5: 'share' }, 'q1');
    expect(atMasked.result).toThrow(QuorumError);
    expect(atMasked.result).toThrow(/masked step: 7 of the cameras answered and at least 8 are needed/);

    const atUnmask = run(12, { 1: 'share', 2: 'share', 3: 'masked', 4: 'masked', 5: 'masked' }, 'q2');
    expect(atUnmask.result).toThrow(/unmask step: 7 of the cameras answered and at least 8/);

    const atShare = run(6, { 1: 'advertise', 2: 'advertise', 3: 'advertise' }, 'q3');
    expect(atShare.result).toThrow(/share step: 3 of the cameras answered and at least 4/);
  });
});
