// Issue 6: secure rounds on small fleets (the demo has 8 cameras). SecAgg+ falls back to the full
// graph there; the thresholds must be satisfiable, healthy cameras must never be dropped, and a
// third of the cameras dropping must still give the exact sum.
import { describe, expect, it } from 'vitest';
import { federatedConfig, parseCameraId } from '../../preload/contract';
import { generateTask } from './data';
import { Federation, lossDropout } from './engine';
import { liveCameras } from './links';
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

describe('federated secure rounds on small fleets', () => {
  const fleet = (n: number) => {
    const cams = Array.from({ length: n }, (_, i) => parseCameraId(`CAM${i}`));
    const task = generateTask({ classes: 3, features: 6, clients: n, samplesPerClient: 30, testSamples: 200, alpha: 0.5, separation: 3 }, createRng(`task-${n}`));
    return { cams, fed: new Federation(task, cams, createRng(`fed-${n}`)) };
  };
  const config = federatedConfig({ aggregation: 'secure', secureGraph: 'secagg+', clientsPerRound: 10 });

  for (const n of SIZES) {
    it(`n = ${n}: healthy cameras never drop (even with a low health guess and no loss measured); a third dropping still completes; below quorum aborts with the reason`, () => {
      const { cams, fed } = fleet(n);
      // The demo's condition before the fix: health 0.3 from the fleet-state guess, no measured loss.
      for (let round = 1; round <= 10; round++) {
        const out = fed.runRound({ round, config, linkHealth: () => 0.3 });
        expect(out.status).toBe('completed');
        expect(out.dropped).toEqual([]);
        expect(out.drops!.every((d) => d.dropAfter === null)).toBe(true);
      }
      // Measured, loss-free links: the same.
      expect(fed.runRound({ round: 11, config, linkHealth: () => 1, linkLoss: () => 0 }).status).toBe('completed');

      const third = cams.slice(0, Math.floor(n / 3));
      const ok = fed.runRound({ round: 12, config, linkHealth: () => 1, dropout: (id) => (third.includes(id) ? 'share' : undefined) });
      expect(ok.status).toBe('completed');
      expect(ok.participants).toHaveLength(n - third.length);
      expect(ok.dropped.sort()).toEqual([...third].sort());
      expect(ok.accuracy).not.toBeNull();

      const tooMany = cams.slice(0, Math.floor(n / 3) + 1);
      const bad = fed.runRound({ round: 13, config, linkHealth: () => 1, dropout: (id) => (tooMany.includes(id) ? 'masked' : undefined) });
      // They sent their masked input but not their unmask shares: the unmask step lacks a quorum.
      expect(bad.status).toBe('aborted');
      expect(bad.reason).toMatch(new RegExp(`unmask step: ${n - tooMany.length} of the cameras answered and at least ${Math.ceil((2 * n) / 3)} are needed`));
    });
  }
});

describe('simulated dropouts from measured loss', () => {
  it('never drops without a measurement or on a loss-free link', () => {
    const rng = createRng('none');
    for (let i = 0; i < 1000; i++) {
      expect(lossDropout(null, rng)).toBeUndefined();
      expect(lossDropout(0, rng)).toBeUndefined();
    }
  });

  it('drops at the rate three independently lost messages give: 1 − (1 − p)³, first loss first', () => {
    const rng = createRng('rate');
    const p = 0.1;
    const N = 40_000;
    const counts = { advertise: 0, share: 0, masked: 0, unmask: 0 };
    let kept = 0;
    for (let i = 0; i < N; i++) {
      const d = lossDropout(p, rng);
      if (d) counts[d]++;
      else kept++;
    }
    const se = (x: number) => 4 * Math.sqrt((x * (1 - x)) / N); // four standard errors
    expect(Math.abs(kept / N - (1 - p) ** 3)).toBeLessThan(se((1 - p) ** 3));
    expect(Math.abs(counts.advertise / N - p)).toBeLessThan(se(p));
    expect(Math.abs(counts.share / N - (1 - p) * p)).toBeLessThan(se((1 - p) * p));
    expect(Math.abs(counts.masked / N - (1 - p) ** 2 * p)).toBeLessThan(se((1 - p) ** 2 * p));
    expect(counts.unmask).toBe(0);
  });
});

describe('link measurements reach the federation', () => {
  it('looks swarm links up by the camera serial (the swarm’s id), not the registry id', () => {
    const cams = [
      { id: 'cam_1', serial: 'ACCC8E000001' },
      { id: 'cam_2', serial: 'ACCC8E000002' },
      { id: 'cam_3', serial: '' }, // serial not known yet
    ];
    const live = liveCameras({
      fleet: {
        registry: { list: () => cams, get: (id: string) => cams.find((c) => c.id === id) } as never,
        status: (id: string) => ({ cameraId: id, state: 'connecting' }) as never,
      },
      swarmLinks: () => [
        { id: 'ACCC8E000001', status: 'healthy', loss: 0.02, latencyMs: 5, lastSeen: 10 },
        { id: 'ACCC8E000002', status: 'down', loss: 0, latencyMs: null, lastSeen: null },
      ],
    });
    expect(live.linkHealth(parseCameraId('cam_1'))).toBeCloseTo(0.98, 12); // measured, not the 0.3 "connecting" guess
    expect(live.linkLoss(parseCameraId('cam_1'))).toBe(0.02);
    expect(live.available(parseCameraId('cam_2'))).toBe(false); // the swarm's "down" applies
    expect(live.linkLoss(parseCameraId('cam_2'))).toBeNull(); // nothing received yet: no loss figure
    expect(live.linkLoss(parseCameraId('cam_3'))).toBeNull();
    expect(live.linkHealth(parseCameraId('cam_3'))).toBe(0.3);
  });
});
