// The speed work must not change results: the block-form prediction equals the general 4×4 one,
// futures with shared prefixes equal futures propagated one by one, grid gating finds every
// measurement a full scan would, and the camera footprint and homography sign are right.
import { describe, expect, it } from 'vitest';
import { parseCameraId, type CameraId } from '../../preload/contract/camera-id';
import { apply, estimateHomography, type Mat3 } from './homography';
import { Imm, ModelSet, defaultModels, defaultSwitchMatrix, predictFutures } from './imm';
import { initialState, predictBlockInPlace, predictInPlace } from './kalman';
import { gaussian, seededRandom } from './rng';
import { MeasurementGrid, Tracker, groundFootprint, type Measurement } from './tracker';

const randomCov = (rnd: () => number): Float64Array => {
  // A Aᵀ + I: symmetric positive definite.
  const a = Array.from({ length: 16 }, () => gaussian(rnd));
  const p = new Float64Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    let s = i === j ? 1 : 0;
    for (let k = 0; k < 4; k++) s += a[i * 4 + k]! * a[j * 4 + k]!;
    p[i * 4 + j] = s;
  }
  return p;
};

describe('block-form prediction', () => {
  it('equals the general F P Fᵀ + Q for every motion model', () => {
    const rnd = seededRandom(9);
    const sets = new ModelSet(defaultModels).at(0.4);
    for (let m = 0; m < defaultModels.length; m++)
      for (let trial = 0; trial < 50; trial++) {
        const x1 = Float64Array.from({ length: 4 }, () => gaussian(rnd));
        const p1 = randomCov(rnd);
        const x2 = Float64Array.from(x1);
        const p2 = Float64Array.from(p1);
        predictInPlace(x1, p1, sets.f[m]!, sets.q[m]!);
        predictBlockInPlace(x2, p2, sets.f[m]!, sets.q[m]!);
        for (let i = 0; i < 4; i++) expect(x2[i]).toBeCloseTo(x1[i]!, 12);
        for (let i = 0; i < 16; i++) expect(p2[i]).toBeCloseTo(p1[i]!, 10);
      }
  });
});

describe('futures with shared prefixes', () => {
  it('match each future propagated on its own, mode by mode', () => {
    const rnd = seededRandom(21);
    const r: [number, number, number] = [0.0025, 0, 0.0025];
    // An uneven switch matrix, so futures switch at different steps and share prefixes.
    const pi = defaultSwitchMatrix(4);
    pi.set([0.95, 0.02, 0.02, 0.01, 0.05, 0.85, 0.05, 0.05, 0.05, 0.05, 0.85, 0.05, 0.02, 0.02, 0.02, 0.94]);
    for (let trial = 0; trial < 30; trial++) {
      const { x, p } = initialState(0, 0, r, 2);
      const imm = new Imm(defaultModels, { n: 4, pi }, x, p, 0);
      const vx = gaussian(rnd);
      const vy = gaussian(rnd);
      for (let k = 1; k <= 8; k++) imm.step(k * 0.4, vx * 0.4 * k + 0.05 * gaussian(rnd), vy * 0.4 * k + 0.05 * gaussian(rnd), r);
      const { futures } = predictFutures(imm, { dt: 0.4, horizon: 12, count: 5 });
      const sets = imm.modelSet.at(0.4);
      for (const f of futures) {
        const xs = Float64Array.from(imm.x[f.from]!);
        const ps = Float64Array.from(imm.p[f.from]!);
        for (let k = 1; k <= 12; k++) {
          const m = k >= f.switchStep ? f.to : f.from;
          predictInPlace(xs, ps, sets.f[m]!, sets.q[m]!);
          const q = f.points[k - 1]!;
          expect(q.x).toBeCloseTo(xs[0]!, 9);
          expect(q.y).toBeCloseTo(xs[1]!, 9);
          expect(q.cov[0]).toBeCloseTo(ps[0]!, 9);
          expect(q.cov[2]).toBeCloseTo(ps[5]!, 9);
        }
      }
      // The most probable sequences come first and their weights sum to one.
      for (let i = 1; i < futures.length; i++) expect(futures[i]!.weight).toBeLessThanOrEqual(futures[i - 1]!.weight + 1e-12);
      expect(futures.reduce((s, f) => s + f.weight, 0)).toBeCloseTo(1, 9);
    }
  });
});

describe('grid gating', () => {
  it('returns every measurement within the radius (a superset of what a full scan accepts)', () => {
    const rnd = seededRandom(5);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(rnd() * 60);
      const ms: Measurement[] = Array.from({ length: n }, () => ({ x: 50 * rnd(), y: 30 * rnd(), r: [0.01, 0, 0.01], cls: 'Human' }));
      const grid = MeasurementGrid.build(ms);
      const out = new Int32Array(n);
      for (let q = 0; q < 20; q++) {
        const x = -5 + 60 * rnd();
        const y = -5 + 40 * rnd();
        const radius = 10 * rnd();
        const found = new Set(out.subarray(0, grid.near(x, y, radius, out)));
        ms.forEach((m, i) => {
          if (Math.hypot(m.x - x, m.y - y) <= radius) expect(found.has(i)).toBe(true);
        });
      }
    }
  });

  it('tracks 100 walkers across 16 overlapping cameras without losing or duplicating them', () => {
    const rnd = seededRandom(2024);
    const tracker = new Tracker();
    const cams: { id: CameraId; x0: number; y0: number }[] = [];
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) {
        const id = parseCameraId(`c${i}${j}`);
        cams.push({ id, x0: 10 * i, y0: 10 * j });
        tracker.setCamera(id, [12, 0, 10 * i, 0, 12, 10 * j, 0, 0, 1]);
      }
    const people = Array.from({ length: 100 }, () => ({ x: 2 + 38 * rnd(), y: 2 + 38 * rnd(), h: 2 * Math.PI * rnd() }));
    for (let k = 0; k < 80; k++) {
      for (const p of people) {
        p.x += Math.cos(p.h) * 0.12;
        p.y += Math.sin(p.h) * 0.12;
        if (p.x < 1 || p.x > 41) p.h = Math.PI - p.h;
        if (p.y < 1 || p.y > 41) p.h = -p.h;
      }
      for (const c of cams) {
        const obs = people
          .map((p) => ({ u: (p.x - c.x0) / 12, v: (p.y - c.y0) / 12 }))
          .filter(({ u, v }) => u >= 0 && u <= 1 && v >= 0.02 && v <= 1)
          .map(({ u, v }) => ({ bounding_box: { left: u - 0.005, top: v - 0.02, right: u + 0.005, bottom: v }, class: { type: 'Human', score: 0.9 } }));
        tracker.ingest(c.id, k * 0.1, obs);
      }
    }
    const confirmed = [...tracker.tracks.values()].filter((t) => t.confirmed);
    // People within 0.3 m of each other may merge for a moment; nearly everyone has exactly one track.
    expect(confirmed.length).toBeGreaterThanOrEqual(95);
    expect(confirmed.length).toBeLessThanOrEqual(102);
    for (const t of confirmed) {
      const d = Math.min(...people.map((p) => Math.hypot(p.x - t.kf.x[0]!, p.y - t.kf.x[1]!)));
      expect(d).toBeLessThan(0.3);
    }
  });
});

describe('camera geometry', () => {
  it('bounds a downward view and leaves a view with the horizon unbounded', () => {
    const down: Mat3 = [12, 0, 10, 0, 12, 20, 0, 0, 1];
    expect(groundFootprint(down)).toEqual({ minX: 10, minY: 20, maxX: 22, maxY: 32 });
    const horizon: Mat3 = [10, 0, 0, 0, 10, 0, 0, -2, 1.5]; // w = 1.5 − 2v: beyond the horizon for v > 0.75
    expect(groundFootprint(horizon).maxX).toBe(Infinity);
  });

  it('estimates a homography whose h₂₂ is negative with the sign that keeps the seen ground in front', () => {
    const truth: Mat3 = [20, 3, -4, 1, 30, 2, 0.1, 2.0, -0.5]; // w > 0 only for v > 0.25 or so
    const pairs = [[0.1, 0.5], [0.9, 0.55], [0.85, 0.95], [0.2, 0.9], [0.5, 0.7]].map(([u, v]) => ({ image: { u: u!, v: v! }, ground: apply(truth, u!, v!)! }));
    const { h, rmsErrorM } = estimateHomography(pairs);
    expect(rmsErrorM).toBeLessThan(1e-6);
    expect(apply(h, 0.5, 0.8)).toBeDefined();
    const t = new Tracker();
    const a = parseCameraId('A');
    t.setCamera(a, h);
    const g = apply(h, 0.5, 0.8)!;
    expect(t.covers(t.cameras.get(a)!, g.x, g.y)).toBe(true);
  });
});
