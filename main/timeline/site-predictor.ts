/**
 * A learned pedestrian predictor: ridge regression of the future in the walker's heading frame,
 * plus k-means modes of what the regression gets wrong.
 *
 * Every window is expressed in the heading frame of its last observed step (origin at the last
 * position, x along the last displacement), so one linear map serves every direction of walking.
 * The mean future is a ridge regression from the 7 observed displacements to the 12 future
 * positions; the regression's residuals (divided by the walker's speed, so a turn of a fast walker
 * and of a slow one share a mode) are clustered with k-means into K modes, one held at zero (the
 * regression mean itself), each with its share of
 * the training windows as weight and its per-step residual covariance. The normal equations are
 * kept as sufficient statistics, so windows seen later (the site's own history) can be added and
 * the regression refitted without the earlier data.
 *
 * Written here rather than taken from a library: the model is 15×24 numbers, the solve is a 15×15
 * Cholesky, and no small, maintained TypeScript library offers ridge + k-means with seeded starts.
 */
import type { Cov2 } from './kalman';
import type { Random } from './rng';

export interface P {
  x: number;
  y: number;
}

/** One weighted future: a path of `horizon` points and the 2×2 position covariance at each. */
export interface Mode {
  weight: number;
  points: P[];
  cov: Cov2[];
}

/** Someone else seen at the moment of prediction: position then, and one observed step earlier. */
export interface Neighbour {
  at: P;
  /** Undefined when the neighbour was not seen the step before (velocity unknown, taken as zero). */
  prev?: P;
}

/**
 * A predictor returns weighted futures, weights summing to 1, its single best guess first (the
 * future scored as "most likely": the densest mode for the IMM, the ADE-optimal point for the
 * learned predictor). `neighbours` (everyone else at the last observed frame) is optional context.
 */
export type Predictor = (observed: readonly P[], horizon: number, neighbours?: readonly Neighbour[]) => Mode[];

export const OBSERVED = 8;
export const HORIZON = 12;
const NF = 2 * (OBSERVED - 1) + 1; // 7 displacements + bias
const NY = 2 * HORIZON;
/** Below this step length (m per 0.4 s) the heading of the last step is noise; use the whole history's. */
const MIN_STEP = 0.02;
/** Residuals are divided by max(speed, this) (m per step), so standing people do not blow them up. */
const SPEED_FLOOR = 0.1;

interface Frame {
  ox: number;
  oy: number;
  c: number;
  s: number;
  speed: number;
}

function headingFrame(obs: readonly P[]): Frame {
  const n = obs.length;
  const last = obs[n - 1]!;
  const prev = obs[n - 2]!;
  let dx = last.x - prev.x;
  let dy = last.y - prev.y;
  const speed = Math.hypot(dx, dy);
  if (speed < MIN_STEP) {
    dx = last.x - obs[0]!.x;
    dy = last.y - obs[0]!.y;
  }
  const len = Math.hypot(dx, dy);
  return len < MIN_STEP ? { ox: last.x, oy: last.y, c: 1, s: 0, speed } : { ox: last.x, oy: last.y, c: dx / len, s: dy / len, speed };
}

function features(obs: readonly P[], f: Frame, out: Float64Array): Float64Array {
  for (let k = 1; k < OBSERVED; k++) {
    const dx = obs[k]!.x - obs[k - 1]!.x;
    const dy = obs[k]!.y - obs[k - 1]!.y;
    out[2 * (k - 1)] = f.c * dx + f.s * dy;
    out[2 * (k - 1) + 1] = -f.s * dx + f.c * dy;
  }
  out[NF - 1] = 1;
  return out;
}

function targets(future: readonly P[], f: Frame, out: Float64Array): Float64Array {
  for (let k = 0; k < HORIZON; k++) {
    const dx = future[k]!.x - f.ox;
    const dy = future[k]!.y - f.oy;
    out[2 * k] = f.c * dx + f.s * dy;
    out[2 * k + 1] = -f.s * dx + f.c * dy;
  }
  return out;
}

/** Solves (A) W = B for symmetric positive definite A (n×n) and B (n×m), by Cholesky. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * n + j]!;
    }
  const w = new Float64Array(n * m);
  for (let c = 0; c < m; c++) {
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i * m + c]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * z[k]!;
      z[i] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = z[i]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * w[k * m + c]!;
      w[i * m + c] = s / l[i * n + i]!;
    }
  }
  return w;
}

export interface Example {
  observed: readonly P[];
  future: readonly P[];
}

export interface SitePredictorOptions {
  /** Number of modes (futures) returned. */
  modes: number;
  /** Ridge penalty per training window. */
  lambda: number;
  kmeansIterations: number;
}

export const defaultSitePredictorOptions: SitePredictorOptions = { modes: 5, lambda: 1e-3, kmeansIterations: 40 };

export class SitePredictor {
  private readonly xtx = new Float64Array(NF * NF);
  private readonly xty = new Float64Array(NF * NY);
  private count = 0;
  private w: Float64Array = new Float64Array(NF * NY);
  private centroids: Float64Array[] = [];
  private weights: number[] = [];
  /** Per mode, per step: covariance xx, xy, yy in the heading frame, in (m / speed unit)². */
  private covs: Float64Array[] = [];
  readonly options: SitePredictorOptions;

  constructor(opts: Partial<SitePredictorOptions> = {}) {
    this.options = { ...defaultSitePredictorOptions, ...opts };
  }

  /** Windows the regression has been fitted on (including those added later). */
  get examples(): number {
    return this.count;
  }

  /** Adds windows to the regression's statistics (does not refit). */
  add(examples: readonly Example[], weight = 1): void {
    const x = new Float64Array(NF);
    const y = new Float64Array(NY);
    for (const e of examples) {
      if (e.observed.length !== OBSERVED || e.future.length !== HORIZON) continue;
      const f = headingFrame(e.observed);
      features(e.observed, f, x);
      targets(e.future, f, y);
      for (let i = 0; i < NF; i++) {
        for (let j = 0; j < NF; j++) this.xtx[i * NF + j] = this.xtx[i * NF + j]! + weight * x[i]! * x[j]!;
        for (let j = 0; j < NY; j++) this.xty[i * NY + j] = this.xty[i * NY + j]! + weight * x[i]! * y[j]!;
      }
      this.count++;
    }
  }

  /** Refits the regression from the accumulated statistics. */
  refit(): void {
    const a = Float64Array.from(this.xtx);
    const reg = this.options.lambda * Math.max(1, this.count);
    for (let i = 0; i < NF - 1; i++) a[i * NF + i] = a[i * NF + i]! + reg; // bias not penalised
    a[NF * NF - 1] = a[NF * NF - 1]! + 1e-9;
    this.w = choleskySolve(a, this.xty, NF, NY);
  }

  /** Fits regression and modes on these windows (full 8 + 12). `random` seeds k-means++. */
  fit(examples: readonly Example[], random: Random): this {
    this.add(examples);
    this.refit();
    const full = examples.filter((e) => e.observed.length === OBSERVED && e.future.length === HORIZON);
    const res = full.map((e) => {
      const f = headingFrame(e.observed);
      const mean = this.meanLocal(e.observed, f);
      const y = targets(e.future, f, new Float64Array(NY));
      const s = Math.max(f.speed, SPEED_FLOOR);
      return y.map((v, i) => (v - mean[i]!) / s);
    });
    this.fitModes(res, random);
    return this;
  }

  private meanLocal(obs: readonly P[], f: Frame): Float64Array {
    const x = features(obs, f, new Float64Array(NF));
    const out = new Float64Array(NY);
    for (let i = 0; i < NF; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      for (let j = 0; j < NY; j++) out[j] = out[j]! + xi * this.w[i * NY + j]!;
    }
    return out;
  }

  private fitModes(res: Float64Array[], random: Random): void {
    const K = Math.max(1, Math.min(this.options.modes, res.length));
    if (res.length === 0) {
      this.centroids = [new Float64Array(NY)];
      this.weights = [1];
      this.covs = [new Float64Array(3 * HORIZON).fill(0.01)];
      return;
    }
    const d2 = (a: Float64Array, b: Float64Array): number => {
      let s = 0;
      for (let i = 0; i < NY; i++) s += (a[i]! - b[i]!) ** 2;
      return s;
    };
    // k-means++ seeding, with the first centre held at zero residual: one mode is always the
    // regression's mean (the least-squares future), the others model what it misses.
    const cents: Float64Array[] = [new Float64Array(NY)];
    const best = res.map((r) => d2(r, cents[0]!));
    while (cents.length < K) {
      const total = best.reduce((s, v) => s + v, 0);
      let u = random() * total;
      let pick = res.length - 1;
      for (let i = 0; i < res.length; i++) {
        u -= best[i]!;
        if (u <= 0) {
          pick = i;
          break;
        }
      }
      cents.push(Float64Array.from(res[pick]!));
      for (let i = 0; i < res.length; i++) best[i] = Math.min(best[i]!, d2(res[i]!, cents[cents.length - 1]!));
    }
    const assign = new Int32Array(res.length);
    for (let it = 0; it < this.options.kmeansIterations; it++) {
      let moved = 0;
      for (let i = 0; i < res.length; i++) {
        let bj = 0;
        let bd = Infinity;
        for (let j = 0; j < K; j++) {
          const d = d2(res[i]!, cents[j]!);
          if (d < bd) {
            bd = d;
            bj = j;
          }
        }
        if (assign[i] !== bj || it === 0) moved++;
        assign[i] = bj;
      }
      const sums = cents.map(() => new Float64Array(NY));
      const counts = new Float64Array(K);
      for (let i = 0; i < res.length; i++) {
        const j = assign[i]!;
        counts[j]!++;
        for (let k = 0; k < NY; k++) sums[j]![k] = sums[j]![k]! + res[i]![k]!;
      }
      for (let j = 1; j < K; j++) if (counts[j]! > 0) for (let k = 0; k < NY; k++) cents[j]![k] = sums[j]![k]! / counts[j]!;
      if (moved === 0) break;
    }
    const counts = new Float64Array(K);
    const covs = cents.map(() => new Float64Array(3 * HORIZON));
    for (let i = 0; i < res.length; i++) {
      const j = assign[i]!;
      counts[j]!++;
      for (let k = 0; k < HORIZON; k++) {
        const ex = res[i]![2 * k]! - cents[j]![2 * k]!;
        const ey = res[i]![2 * k + 1]! - cents[j]![2 * k + 1]!;
        covs[j]![3 * k] = covs[j]![3 * k]! + ex * ex;
        covs[j]![3 * k + 1] = covs[j]![3 * k + 1]! + ex * ey;
        covs[j]![3 * k + 2] = covs[j]![3 * k + 2]! + ey * ey;
      }
    }
    const order = [...Array(K).keys()].sort((a, b) => counts[b]! - counts[a]!);
    this.centroids = order.map((j) => cents[j]!);
    this.weights = order.map((j) => counts[j]! / res.length);
    this.covs = order.map((j) => covs[j]!.map((v, i) => v / Math.max(1, counts[j]!) + (i % 3 === 1 ? 0 : 1e-4)));
  }

  /** Weighted futures, most probable first. Needs 8 observed points; horizon ≤ 12. */
  predict(observed: readonly P[], horizon = HORIZON): Mode[] {
    if (observed.length < OBSERVED) throw new Error(`SitePredictor needs ${OBSERVED} observed points, got ${observed.length}`);
    const obs = observed.slice(-OBSERVED);
    const f = headingFrame(obs);
    const mean = this.meanLocal(obs, f);
    const s = Math.max(f.speed, SPEED_FLOOR);
    const h = Math.min(horizon, HORIZON);
    return this.centroids.map((c, j) => {
      const points: P[] = [];
      const cov: Cov2[] = [];
      const cj = this.covs[j]!;
      for (let k = 0; k < h; k++) {
        const lx = mean[2 * k]! + s * c[2 * k]!;
        const ly = mean[2 * k + 1]! + s * c[2 * k + 1]!;
        points.push({ x: f.ox + f.c * lx - f.s * ly, y: f.oy + f.s * lx + f.c * ly });
        // Rotate the local covariance to the ground frame: R Σ Rᵀ, scaled by speed².
        const a = s * s * cj[3 * k]!;
        const b = s * s * cj[3 * k + 1]!;
        const d = s * s * cj[3 * k + 2]!;
        const cc = f.c;
        const ss = f.s;
        cov.push([cc * cc * a - 2 * cc * ss * b + ss * ss * d, cc * ss * (a - d) + (cc * cc - ss * ss) * b, ss * ss * a + 2 * cc * ss * b + cc * cc * d]);
      }
      return { weight: this.weights[j]!, points, cov };
    });
  }

  /** The predictor as a function (for the evaluation). */
  asPredictor(): Predictor {
    return (observed, horizon) => this.predict(observed, horizon);
  }
}
