// Issue 6: secure aggregation on small fleets (the demo has 8 cameras). SecAgg+ falls back to the
// full graph there; the thresholds must be satisfiable and a third of the cameras dropping must
// still give the exact sum.
import { describe, expect, it } from 'vitest';
import { quantize, quantizer } from './quantize';
import { createRng } from './random';
import { effectiveMaskGraph, maskingGraph, QuorumError, runSecureAggregation, SecAggClient, type Phase } from './secagg';

const L = 512;
const SIZES = [3, 5, 8] as const;
const PHASES: Phase[] = ['advertise', 'share', 'masked'];

function secureRun(n: number, drops: Partial<Record<number, Phase>>, seed: string) {
  const rng = createRng(seed);
  const q = quantizer(4, n);
  const xs = Array.from({ length: n }, () => quantize(Float64Array.from({ length: L }, () => 0.05 * rng.normal()), q));
  const participants = xs.map((input, i) => ({ client: new SecAggClient(i + 1, rng.fork(`c${i + 1}`)), input, dropAfter: drops[i + 1] }));
  return { xs, run: () => runSecureAggregation({ round: `small-${seed}`, vectorLength: L, participants, graph: 'secagg+' }) };
}

/** Sum in Z_2^32 of the inputs whose masked vector reached the coordinator. */
function expectedSum(xs: Int32Array[], drops: Partial<Record<number, Phase>>): Int32Array {
  const s = new Int32Array(L);
  xs.forEach((x, i) => {
    const d = drops[i + 1];
    if (d === 'advertise' || d === 'share') return;
    for (let j = 0; j < L; j++) s[j] = (s[j]! + x[j]!) | 0;
  });
  return s;
}

describe('secure aggregation on small fleets', () => {
  it('falls back from SecAgg+ to the full graph below k < n − 1, with satisfiable thresholds and the reason', () => {
    for (const n of SIZES) {
      const g = effectiveMaskGraph('secagg+', n);
      const k = 4 * Math.ceil(Math.log2(n)) + 2;
      expect(k).toBeGreaterThan(n - 1); // why SecAgg+ cannot be used as such here
      expect(g.kind).toBe('full');
      expect(g.k).toBe(n - 1);
      expect(g.quorum).toBe(Math.ceil((2 * n) / 3));
      expect(g.t).toBeLessThanOrEqual(n); // a camera's secret has n holders (itself and n − 1 others)
      expect(g.quorum).toBeLessThanOrEqual(n - Math.floor(n / 3)); // a third may drop
      expect(g.fallback).toContain(`${k} neighbours`);
      expect(g.fallback).toContain(`${n - 1} other cameras`);
      // The protocol builds exactly that graph from a roster of n.
      const peers = Array.from({ length: n }, (_, i) => ({ id: i + 1, cPk: Buffer.alloc(32, i), sPk: Buffer.alloc(32, i) }));
      const built = maskingGraph({ round: 'r', graph: 'secagg+', threshold: g.quorum, peers });
      expect(built.kind).toBe('full');
      expect(built.t).toBe(g.t);
      expect(built.neighbours(1)).toHaveLength(n - 1);
    }
    // Large rounds keep SecAgg+ with its own per-neighbourhood threshold.
    expect(effectiveMaskGraph('secagg+', 100)).toMatchObject({ kind: 'secagg+', k: 30, t: 10, quorum: 67, fallback: null });
    expect(effectiveMaskGraph('full', 8).fallback).toBeNull();
    // The boundary the UI states: the full graph up to 23 cameras (k = 22), SecAgg+ from 24.
    expect(effectiveMaskGraph('secagg+', 23).kind).toBe('full');
    expect(effectiveMaskGraph('secagg+', 24)).toMatchObject({ kind: 'secagg+', k: 22, t: 8 });
  });

  for (const n of SIZES) {
    it(`n = ${n}: the exact sum with no dropouts and with a third dropping at each step; a clear abort below quorum`, () => {
      const none = secureRun(n, {}, `none-${n}`);
      const all = none.run();
      expect(all.included).toHaveLength(n);
      expect(Array.from(all.sum)).toEqual(Array.from(expectedSum(none.xs, {})));

      const third = Math.floor(n / 3);
      for (const phase of PHASES) {
        const drops: Partial<Record<number, Phase>> = {};
        for (let i = 0; i < third; i++) drops[n - i] = phase;
        const r = secureRun(n, drops, `third-${n}-${phase}`);
        const out = r.run();
        expect(Array.from(out.sum)).toEqual(Array.from(expectedSum(r.xs, drops)));
        expect(out.included).toHaveLength(phase === 'masked' ? n : n - third);
      }
      // Drops at different steps in one round (n = 8: one after its shares, one after its masked input).
      if (third >= 2) {
        const mixed: Partial<Record<number, Phase>> = { 2: 'share', 7: 'masked' };
        const r = secureRun(n, mixed, `mixed-${n}`);
        expect(Array.from(r.run().sum)).toEqual(Array.from(expectedSum(r.xs, mixed)));
      }

      const below: Partial<Record<number, Phase>> = {};
      for (let i = 0; i <= third; i++) below[i + 1] = 'share';
      const need = Math.ceil((2 * n) / 3);
      expect(secureRun(n, below, `below-${n}`).run).toThrow(QuorumError);
      expect(secureRun(n, below, `below-${n}`).run).toThrow(new RegExp(`${n - third - 1} of the cameras answered and at least ${need} are needed`));
    });
  }
});
