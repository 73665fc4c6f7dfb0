/**
 * Tests that pin the IMM down as an IMM: a plain reference implementation of the textbook cycle
 * (Bar-Shalom, Li & Kirubarajan, "Estimation with Applications to Tracking and Navigation", §11.6:
 * interaction/mixing, mode-matched filtering, mode-probability update) is compared with `Imm`, and
 * each ingredient — mixing, the mode-probability update and the switch matrix — is shown to change
 * the result in the scenario used, so dropping any of them fails a test.
 */
import { describe, expect, it } from 'vitest';
import { Imm, defaultModels, defaultSwitchMatrix, predictFutures, transitionMatrix, type MotionModel } from './imm';
import { whiteAccelerationQ, type Cov2 } from './kalman';
import { gaussian, seededRandom } from './rng';

type M = number[]; // row-major 4×4
const mul = (a: M, b: M): M => Array.from({ length: 16 }, (_, k) => [0, 1, 2, 3].reduce((s, i) => s + a[Math.floor(k / 4) * 4 + i]! * b[i * 4 + (k % 4)]!, 0));
const tr = (a: M): M => Array.from({ length: 16 }, (_, k) => a[(k % 4) * 4 + Math.floor(k / 4)]!);

interface RefState {
  x: number[][];
  p: M[];
  mu: number[];
}
interface Variant {
  mixing: boolean;
  muUpdate: boolean;
}

/** One textbook IMM cycle, written for clarity (no in-place tricks), with switchable ingredients. */
function refStep(models: readonly MotionModel[], pi: number[], s: RefState, dt: number, z: [number, number], r: Cov2, v: Variant): RefState {
  const n = models.length;
  const c = Array.from({ length: n }, (_, j) => s.mu.reduce((acc, m, i) => acc + pi[i * n + j]! * m, 0));
  const x0: number[][] = [];
  const p0: M[] = [];
  for (let j = 0; j < n; j++) {
    if (!v.mixing) {
      x0.push([...s.x[j]!]);
      p0.push([...s.p[j]!]);
      continue;
    }
    const w = s.mu.map((m, i) => (pi[i * n + j]! * m) / c[j]!);
    const xm = [0, 1, 2, 3].map((k) => w.reduce((acc, wi, i) => acc + wi * s.x[i]![k]!, 0));
    const pm = Array.from({ length: 16 }, (_, k) =>
      w.reduce((acc, wi, i) => acc + wi * (s.p[i]![k]! + (s.x[i]![Math.floor(k / 4)]! - xm[Math.floor(k / 4)]!) * (s.x[i]![k % 4]! - xm[k % 4]!)), 0),
    );
    x0.push(xm);
    p0.push(pm);
  }
  const out: RefState = { x: [], p: [], mu: [] };
  const lik: number[] = [];
  for (let j = 0; j < n; j++) {
    const f = [...transitionMatrix(models[j]!, dt)];
    const q = [...whiteAccelerationQ(dt, models[j]!.q)];
    const x = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].reduce((acc, k) => acc + f[i * 4 + k]! * x0[j]![k]!, 0));
    const p = mul(mul(f, p0[j]!), tr(f)).map((val, k) => val + q[k]!);
    const s00 = p[0]! + r[0];
    const s01 = p[1]! + r[1];
    const s11 = p[5]! + r[2];
    const det = s00 * s11 - s01 * s01;
    const [i00, i01, i11] = [s11 / det, -s01 / det, s00 / det];
    const y = [z[0] - x[0]!, z[1] - x[1]!];
    lik.push(Math.exp(-0.5 * (y[0]! * y[0]! * i00 + 2 * y[0]! * y[1]! * i01 + y[1]! * y[1]! * i11)) / (2 * Math.PI * Math.sqrt(det)));
    // K = P Hᵀ S⁻¹; x += K y; P −= K H P
    const kg = [0, 1, 2, 3].map((i) => [p[i * 4]! * i00 + p[i * 4 + 1]! * i01, p[i * 4]! * i01 + p[i * 4 + 1]! * i11]);
    out.x.push(x.map((xi, i) => xi + kg[i]![0]! * y[0]! + kg[i]![1]! * y[1]!));
    out.p.push(p.map((pk, k) => pk - kg[Math.floor(k / 4)]![0]! * p[k % 4]! - kg[Math.floor(k / 4)]![1]! * p[4 + (k % 4)]!));
  }
  const total = c.reduce((acc, cj, j) => acc + cj * lik[j]!, 0);
  out.mu = v.muUpdate ? c.map((cj, j) => (cj * lik[j]!) / total) : [...s.mu];
  return out;
}

const models = defaultModels;
const n = models.length;
// An asymmetric switch matrix, so its rows and columns are not interchangeable.
const pi = [0.85, 0.07, 0.05, 0.03, 0.1, 0.8, 0.02, 0.08, 0.15, 0.05, 0.75, 0.05, 0.2, 0.1, 0.1, 0.6];
const r: Cov2 = [0.05 ** 2, 0, 0.05 ** 2];

/** Modes start from different states (as after a manoeuvre), so mixing has something to mix. */
function start(): RefState {
  const rnd = seededRandom(42);
  return {
    x: models.map(() => [gaussian(rnd), gaussian(rnd), 1 + 0.5 * gaussian(rnd), 0.5 * gaussian(rnd)]),
    p: models.map((_, j) => Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? 0.05 + 0.05 * j : 0))),
    mu: [0.4, 0.3, 0.2, 0.1],
  };
}
// A walker turning left at 0.3 rad/s, measured every 0.4 s.
const meas = Array.from({ length: 10 }, (_, k): [number, number] => {
  const t = 0.4 * (k + 1);
  return [(1.2 / 0.3) * Math.sin(0.3 * t), (1.2 / 0.3) * (1 - Math.cos(0.3 * t))];
});

function runImm(): Imm {
  const s = start();
  const imm = new Imm(models, { n, pi: Float64Array.from(pi) }, new Float64Array(4), new Float64Array(16), 0);
  s.x.forEach((x, j) => imm.x[j]!.set(x));
  s.p.forEach((p, j) => imm.p[j]!.set(p));
  imm.mu.set(s.mu);
  meas.forEach((z, k) => imm.step(0.4 * (k + 1), z[0], z[1], r));
  return imm;
}
function runRef(v: Variant, matrix = pi): RefState {
  let s = start();
  for (const z of meas) s = refStep(models, matrix, s, 0.4, z, r, v);
  return s;
}
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('IMM cycle against a textbook reference', () => {
  const full: Variant = { mixing: true, muUpdate: true };

  it('matches the reference (mixing, mode-matched Kalman filters, mode probabilities) to 1e-9', () => {
    const imm = runImm();
    const ref = runRef(full);
    expect(maxDiff(imm.mu, ref.mu)).toBeLessThan(1e-9);
    for (let j = 0; j < n; j++) {
      expect(maxDiff(imm.x[j]!, ref.x[j]!)).toBeLessThan(1e-9);
      expect(maxDiff(imm.p[j]!, ref.p[j]!)).toBeLessThan(1e-9);
    }
    // The walker turning left is more probably turning left than right.
    expect(imm.mu[1]!).toBeGreaterThan(imm.mu[2]!);
  });

  it('mixing changes the result: without it the mode states differ well beyond round-off', () => {
    const imm = runImm();
    const unmixed = runRef({ mixing: false, muUpdate: true });
    const worst = Math.max(...models.map((_, j) => maxDiff(imm.x[j]!, unmixed.x[j]!)));
    expect(worst).toBeGreaterThan(1e-3);
    expect(maxDiff(imm.mu, unmixed.mu)).toBeGreaterThan(1e-3);
  });

  it('the mode-probability update changes the result: frozen probabilities do not match', () => {
    const imm = runImm();
    const frozen = runRef({ mixing: true, muUpdate: false });
    expect(maxDiff(imm.mu, frozen.mu)).toBeGreaterThan(0.05);
    expect(Math.max(...models.map((_, j) => maxDiff(imm.x[j]!, frozen.x[j]!)))).toBeGreaterThan(1e-3);
  });

  it('the switch matrix changes the result: the reference with another matrix does not match', () => {
    const imm = runImm();
    const other = runRef(full, [...defaultSwitchMatrix(n, 0.92)]);
    expect(maxDiff(imm.mu, other.mu)).toBeGreaterThan(1e-3);
  });

  it('predicts the mode probabilities through the switch matrix when a measurement carries no information', () => {
    // With R huge every mode's likelihood is the same, so μ' = πᵀ μ exactly (the IMM's c̄).
    const imm = new Imm(models, { n, pi: Float64Array.from(pi) }, new Float64Array([0, 0, 1, 0]), Float64Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? 0.1 : 0)), 0);
    imm.mu.set([0.4, 0.3, 0.2, 0.1]);
    imm.step(0.4, 0.4, 0, [1e12, 0, 1e12]);
    const expected = [0, 1, 2, 3].map((j) => [0, 1, 2, 3].reduce((s, i) => s + pi[i * n + j]! * [0.4, 0.3, 0.2, 0.1][i]!, 0));
    expect(maxDiff(imm.mu, expected)).toBeLessThan(1e-6);
    // Mixing by hand, for the constant-velocity mode: every mode started equal, so the mixed mean
    // equals it and the predicted CV state is F x.
    expect(imm.x[0]![0]).toBeCloseTo(0.4, 6);
  });
});

describe('IMM futures follow the mode probabilities and the switch matrix', () => {
  const make = (mu: number[], stay: number): Imm => {
    const imm = new Imm(models, { n, pi: defaultSwitchMatrix(n, stay) }, new Float64Array([0, 0, 1.2, 0]), Float64Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? 0.01 : 0)), 0);
    imm.mu.set(mu);
    return imm;
  };

  it('weights each future by μ_from · π_from,from^(s−1) · π_from,to · π_to,to^(H−s), renormalised', () => {
    const H = 12;
    const stay = 0.9;
    const mu = [0.5, 0.2, 0.2, 0.1];
    const { futures, mass } = predictFutures(make(mu, stay), { dt: 0.4, horizon: H, count: 5 });
    const sw = (1 - stay) / (n - 1);
    const prior = (f: (typeof futures)[number]): number =>
      f.from === f.to ? mu[f.from]! * stay ** H : mu[f.from]! * stay ** (f.switchStep - 1) * sw * stay ** (H - f.switchStep);
    const priors = futures.map(prior);
    expect(mass).toBeCloseTo(priors.reduce((a, b) => a + b, 0), 12);
    futures.forEach((f, i) => expect(f.weight).toBeCloseTo(priors[i]! / mass, 12));
  });

  it('the most probable future follows the most probable mode', () => {
    const cv = predictFutures(make([0.7, 0.1, 0.1, 0.1], 0.92), { dt: 0.4, horizon: 12, count: 5 }).futures;
    const stop = predictFutures(make([0.1, 0.1, 0.1, 0.7], 0.92), { dt: 0.4, horizon: 12, count: 5 }).futures;
    expect(cv[0]!.label).toBe('constant velocity');
    expect(stop[0]!.label).toBe('stop');
    // The stop future ends far short of the constant-velocity one (1.2 m/s for 4.8 s).
    expect(cv[0]!.points[11]!.x).toBeCloseTo(1.2 * 4.8, 6);
    expect(stop[0]!.points[11]!.x).toBeLessThan(1.2);
  });

  it('a stickier switch matrix puts more weight on futures that hold their mode', () => {
    // All 4 held + 4·3·12 single-switch sequences, so the renormalisation does not hide the matrix.
    const held = (stay: number): number =>
      predictFutures(make([0.4, 0.2, 0.2, 0.2], stay), { dt: 0.4, horizon: 12, count: 148 }).futures.filter((f) => f.from === f.to).reduce((s, f) => s + f.weight, 0);
    expect(held(0.97)).toBeGreaterThan(held(0.85) + 0.05);
  });
});
