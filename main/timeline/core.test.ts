import { describe, expect, it } from 'vitest';
import { DegenerateCalibrationError, apply, estimateHomography, type Mat3 } from './homography';
import { FORBIDDEN, hungarian } from './hungarian';
import { CHI2_2DOF_95, CvKalman, initialState } from './kalman';
import { Imm, defaultModels, defaultSwitchMatrix, predictFutures } from './imm';
import { gaussian, seededRandom } from './rng';

describe('homography (normalised DLT)', () => {
  const truth: Mat3 = [20, 3, -4, 1, 30, 2, 0.1, 0.9, 1];
  const pair = (u: number, v: number) => ({ image: { u, v }, ground: apply(truth, u, v)! });

  it('recovers a known mapping from four points and maps other points the same way', () => {
    const { h, rmsErrorM } = estimateHomography([pair(0.1, 0.2), pair(0.9, 0.15), pair(0.85, 0.9), pair(0.2, 0.8)]);
    expect(rmsErrorM).toBeLessThan(1e-6);
    for (const [u, v] of [[0.5, 0.5], [0.3, 0.7], [0.75, 0.25]] as const) {
      const a = apply(h, u, v)!;
      const b = apply(truth, u, v)!;
      expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeLessThan(1e-6);
    }
  });

  it('fits more than four noisy points by least squares', () => {
    const rnd = seededRandom(3);
    const pts = Array.from({ length: 12 }, () => {
      const p = pair(0.05 + 0.9 * rnd(), 0.05 + 0.9 * rnd());
      return { image: p.image, ground: { x: p.ground.x + 0.02 * gaussian(rnd), y: p.ground.y + 0.02 * gaussian(rnd) } };
    });
    const { rmsErrorM } = estimateHomography(pts);
    expect(rmsErrorM).toBeGreaterThan(0);
    expect(rmsErrorM).toBeLessThan(0.05);
  });

  it('refuses collinear reference points with a message that says what to pick', () => {
    const bad = [pair(0.1, 0.1), pair(0.5, 0.5), pair(0.9, 0.9), pair(0.2, 0.8)];
    expect(() => estimateHomography(bad)).toThrow(DegenerateCalibrationError);
    expect(() => estimateHomography(bad)).toThrow(/one line.*quadrilateral/);
    expect(() => estimateHomography(bad.slice(0, 3))).toThrow(/at least 4/);
  });
});

describe('Hungarian assignment', () => {
  const brute = (c: number[], rows: number, cols: number): number => {
    // Minimum over all injective maps of rows into columns (or columns into rows), forbidden cells skipped.
    let best = Infinity;
    const k = Math.min(rows, cols);
    const rec = (i: number, usedR: Set<number>, usedC: Set<number>, sum: number, count: number): void => {
      if (count === k) {
        best = Math.min(best, sum);
        return;
      }
      if (rows <= cols) {
        for (let j = 0; j < cols; j++) if (!usedC.has(j)) rec(i + 1, usedR, new Set([...usedC, j]), sum + c[i * cols + j]!, count + 1);
      } else {
        for (let r = 0; r < rows; r++) if (!usedR.has(r)) rec(i + 1, new Set([...usedR, r]), usedC, sum + c[r * cols + i]!, count + 1);
      }
    };
    rec(0, new Set(), new Set(), 0, 0);
    return best;
  };

  it('equals brute force on 400 random small matrices, square and rectangular', () => {
    const rnd = seededRandom(42);
    for (let trial = 0; trial < 400; trial++) {
      const rows = 1 + Math.floor(rnd() * 6);
      const cols = 1 + Math.floor(rnd() * 6);
      const c = Array.from({ length: rows * cols }, () => Math.round(rnd() * 100) / 4);
      const a = hungarian(c, rows, cols);
      const used = new Set<number>();
      let sum = 0;
      let assigned = 0;
      a.forEach((j, i) => {
        if (j < 0) return;
        expect(used.has(j)).toBe(false);
        used.add(j);
        sum += c[i * cols + j]!;
        assigned++;
      });
      expect(assigned).toBe(Math.min(rows, cols));
      expect(sum).toBeCloseTo(brute(c, rows, cols), 9);
    }
  });

  it('never returns a forbidden (gated-out) cell', () => {
    const c = [1, FORBIDDEN, FORBIDDEN, FORBIDDEN];
    expect([...hungarian(c, 2, 2)]).toEqual([0, -1]);
  });
});

describe('constant-velocity Kalman filter', () => {
  it('converges to position and velocity on a straight walk with noisy measurements', () => {
    const rnd = seededRandom(5);
    const r: [number, number, number] = [0.05 ** 2, 0, 0.05 ** 2];
    const { x, p } = initialState(0, 0, r, 2);
    const kf = new CvKalman(x, p);
    const v = { x: 1.2, y: -0.5 };
    for (let k = 1; k <= 40; k++) {
      kf.predict(0.2, 0.1);
      kf.update(kf.innovation(v.x * 0.2 * k + 0.05 * gaussian(rnd), v.y * 0.2 * k + 0.05 * gaussian(rnd), r));
    }
    expect(Math.abs(kf.x[2]! - v.x)).toBeLessThan(0.1);
    expect(Math.abs(kf.x[3]! - v.y)).toBeLessThan(0.1);
    expect(Math.hypot(kf.x[0]! - v.x * 8, kf.x[1]! - v.y * 8)).toBeLessThan(0.08);
    // And gating would reject a measurement 3 m off the prediction.
    kf.predict(0.2, 0.1);
    expect(kf.innovation(v.x * 8.2 + 3, v.y * 8.2, r).d2).toBeGreaterThan(CHI2_2DOF_95);
    expect(kf.innovation(v.x * 8.2 + 0.05, v.y * 8.2, r).d2).toBeLessThan(CHI2_2DOF_95);
  });
});

describe('IMM', () => {
  const run = (path: (t: number) => { x: number; y: number }, steps: number): Imm => {
    const r: [number, number, number] = [0.03 ** 2, 0, 0.03 ** 2];
    const start = path(0);
    const { x, p } = initialState(start.x, start.y, r, 2);
    const imm = new Imm(defaultModels, { n: 4, pi: defaultSwitchMatrix(4) }, x, p, 0);
    for (let k = 1; k <= steps; k++) {
      const q = path(k * 0.4);
      imm.step(k * 0.4, q.x, q.y, r);
    }
    return imm;
  };
  const idx = (id: string) => defaultModels.findIndex((m) => m.id === id);

  it('favours the turn-left model on a track turning left and turn-right on one turning right', () => {
    const turn = (w: number) => (t: number) => ({ x: (1.3 / w) * Math.sin(w * t), y: (1.3 / w) * (1 - Math.cos(w * t)) });
    const left = run(turn(0.15), 20);
    expect(left.mu[idx('left')]!).toBeGreaterThan(Math.max(left.mu[idx('cv')]!, left.mu[idx('right')]!, left.mu[idx('stop')]!));
    const right = run(turn(-0.15), 20);
    expect(right.mu[idx('right')]!).toBeGreaterThan(Math.max(right.mu[idx('cv')]!, right.mu[idx('left')]!));
    // A straight walk stays with constant velocity rather than either turn.
    const straight = run((t) => ({ x: 1.3 * t, y: 0 }), 20);
    expect(straight.mu[idx('cv')]!).toBeGreaterThan(straight.mu[idx('left')]!);
    expect(straight.mu[idx('cv')]!).toBeGreaterThan(straight.mu[idx('right')]!);
  });

  it('favours the stop model on a decelerating track and returns 5 weighted futures with growing uncertainty', () => {
    // Walks at 1.4 m/s for 4 s, then slows with a 0.8 s time constant.
    const stopping = (t: number) => ({ x: t < 4 ? 1.4 * t : 5.6 + 1.4 * 0.8 * (1 - Math.exp(-(t - 4) / 0.8)), y: 0 });
    const imm = run(stopping, 14);
    const stop = idx('stop');
    expect(imm.mu[stop]!).toBeGreaterThan(Math.max(...[...imm.mu].filter((_, j) => j !== stop)));
    const { futures } = predictFutures(imm, { dt: 0.4, horizon: 12, count: 5 });
    expect(futures).toHaveLength(5);
    expect(futures.reduce((s, f) => s + f.weight, 0)).toBeCloseTo(1, 9);
    expect(futures[0]!.label).toBe('stop');
    for (const f of futures) {
      expect(f.points).toHaveLength(12);
      expect(f.points[11]!.cov[0]).toBeGreaterThan(f.points[0]!.cov[0]);
    }
  });
});
