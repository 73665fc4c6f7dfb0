import { describe, expect, it } from 'vitest';
import { quantize, quantizer } from './quantize';
import { createRng, type Rng } from './random';
import {
  maskingGraph,
  QuorumError,
  quorum,
  runSecureAggregation,
  SecAggAbort,
  SecAggClient,
  SecAggServer,
  secaggPlusParameters,
  survivorsConnected,
  type ClientMessage,
  type MaskGraph,
  type Phase,
} from './secagg';

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

function run(n: number, drops: Partial<Record<number, Phase>>, seed: string, tap?: (m: ClientMessage) => void, graph: MaskGraph = 'full') {
  const rng = createRng(seed);
  const xs = inputs(n, rng);
  const participants = xs.map((input, i) => ({ client: new SecAggClient(i + 1, rng.fork(`c${i + 1}`)), input, dropAfter: drops[i + 1] }));
  return { xs, result: () => runSecureAggregation({ round: `r-${seed}`, vectorLength: L, participants, tap, graph }) };
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

describe('SecAgg+ (Bell et al. 2020): masks and shares only among k neighbours', () => {
  const n = 30;
  const { k, t } = secaggPlusParameters(n)!;

  it('picks k = 4⌈log2 n⌉ + 2 and t = ⌈k/3⌉, and the full graph when that is no dearer', () => {
    expect(secaggPlusParameters(100)).toEqual({ k: 30, t: 10 });
    expect({ k, t }).toEqual({ k: 22, t: 8 });
    expect(secaggPlusParameters(12)).toBeNull();
  });

  it('derives one k-regular graph from the public roster, the same for everyone, new each round', () => {
    const rng = createRng('graph');
    const peers = Array.from({ length: 100 }, (_, i) => ({ id: i + 1, cPk: rng.bytes(32), sPk: rng.bytes(32) }));
    const g = maskingGraph({ round: 'a', graph: 'secagg+', threshold: quorum(100), peers });
    const again = maskingGraph({ round: 'a', graph: 'secagg+', threshold: quorum(100), peers: [...peers].reverse() });
    const other = maskingGraph({ round: 'b', graph: 'secagg+', threshold: quorum(100), peers });
    for (const p of peers) {
      const nb = g.neighbours(p.id);
      expect(nb).toHaveLength(30);
      expect(new Set(nb).size).toBe(30);
      expect(nb).not.toContain(p.id);
      for (const v of nb) expect(g.neighbours(v)).toContain(p.id);
      expect(again.neighbours(p.id)).toEqual(nb);
    }
    expect(peers.filter((p) => other.neighbours(p.id).join() !== g.neighbours(p.id).join()).length).toBeGreaterThan(90);
    // A third dropping at random keeps every neighbourhood at t shares and the survivors connected.
    let failures = 0;
    for (let trial = 0; trial < 300; trial++) {
      const ids = peers.map((p) => p.id);
      for (let i = ids.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [ids[i], ids[j]] = [ids[j]!, ids[i]!];
      }
      const alive = new Set(ids.slice(33));
      const short = peers.some((p) => g.neighbours(p.id).filter((v) => alive.has(v)).length < g.t);
      if (short || !survivorsConnected(g, [...alive])) failures++;
    }
    expect(failures).toBe(0);
    // Two survivors that are not neighbours, with everyone between them gone: a split, detected.
    const a = peers[0]!.id;
    const far = peers.find((p) => p.id !== a && !g.neighbours(a).includes(p.id))!.id;
    expect(survivorsConnected(g, [a, far])).toBe(false);
    expect(survivorsConnected(g, [a, g.neighbours(a)[0]!])).toBe(true);
  });

  it('gives the server exactly the sum with a third dropping, and each client handles only its neighbours', () => {
    const seen: ClientMessage[] = [];
    const drops: Partial<Record<number, Phase>> = { 2: 'share', 7: 'share', 11: 'share', 19: 'share', 23: 'share', 4: 'masked', 9: 'masked', 15: 'masked', 26: 'masked', 30: 'masked' };
    expect(Object.keys(drops)).toHaveLength(n - quorum(n));
    const { xs, result } = run(n, drops, 'plus-drop', (m) => seen.push(m), 'secagg+');
    const r = result();
    const gone = [2, 7, 11, 19, 23];
    expect(r.dropped.sort((a, b) => a - b)).toEqual(gone);
    expect(Array.from(r.sum)).toEqual(Array.from(plainSum(xs.filter((_, i) => !gone.includes(i + 1)))));
    for (const m of seen) if (m.kind === 'shares') expect(m.boxes).toHaveLength(k);
    // Survivors reveal b shares for live neighbours and s shares for dropped ones, never both for one owner.
    for (const m of seen)
      if (m.kind === 'unmask') {
        const selfOf = new Set(m.selfShares.map((e) => e.of));
        for (const e of m.keyShares) {
          expect(selfOf.has(e.of)).toBe(false);
          expect(gone).toContain(e.of);
        }
      }
    const masked = seen.filter((m): m is Extract<ClientMessage, { kind: 'masked' }> => m.kind === 'masked');
    for (const m of masked) {
      expect(Math.abs(pearson(m.y, xs[m.from - 1]!))).toBeLessThan(0.08);
      expect(chiSquareTopBits(m.y)).toBeLessThan(CHI2_15_P001);
    }
  });

  it('aborts below quorum, and fails closed when a dropped camera’s neighbours are too few to unmask it', () => {
    const below = run(n, Object.fromEntries(Array.from({ length: 11 }, (_, i) => [i + 1, 'share' as Phase])), 'plus-q', undefined, 'secagg+');
    expect(below.result).toThrow(/masked step: 19 of the cameras answered and at least 20 are needed/);

    // 60 clients (k = 26, t = 9); client 1 drops after sharing, and so do k − t + 1 of its
    // neighbours plus others up to a third: at most t − 1 shares of its key survive, so its mask
    // cannot be removed, and the server stops instead of releasing anything.
    const N = 60;
    const rng = createRng('plus-short');
    const clients = Array.from({ length: N }, (_, i) => new SecAggClient(i + 1, rng.fork(`c${i + 1}`)));
    const server = new SecAggServer({ round: 'short', threshold: quorum(N), vectorLength: 8, graph: 'secagg+' });
    const roster = server.receiveAdvertise(clients.map((c) => c.advertise('short')));
    const g = maskingGraph(roster);
    expect([g.k, g.t]).toEqual([26, 9]);
    const drop = new Set([1, ...g.neighbours(1).slice(0, g.k - g.t + 1)]);
    for (let id = 2; drop.size < N - quorum(N); id++) drop.add(id);
    const deliveries = server.receiveShares(clients.map((c) => c.share(roster)));
    const survivors = server.receiveMasked(deliveries.filter((d) => !drop.has(d.to)).map((d) => clients[d.to - 1]!.mask(d, new Int32Array(8))));
    const unmasking = survivors.masked.map((id) => clients[id - 1]!.unmask(survivors));
    expect(() => server.receiveUnmask(unmasking)).toThrow(SecAggAbort);
    expect(() => server.receiveUnmask(unmasking)).toThrow(/only [0-8] of the 9 shares needed to remove one camera’s mask/);
  });
});
