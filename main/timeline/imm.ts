/**
 * Interacting multiple model (IMM) filter and its probable futures.
 *
 * Every mode shares the state [x, y, vx, vy], so mixing is a plain weighted sum. Ground axes are
 * taken as right-handed (x east, y north): a positive turn rate turns left (counter-clockwise).
 */
import { innovation, predictInPlace, updateInPlace, whiteAccelerationQ, type Cov2, type Mat4, type Vec4 } from './kalman';

export interface MotionModel {
  id: 'cv' | 'left' | 'right' | 'stop';
  name: string;
  kind: 'cv' | 'turn' | 'stop';
  /** Turn rate, rad/s (turn models). */
  omega?: number;
  /** Velocity decay time constant, s (stop model). */
  tau?: number;
  /** White-acceleration spectral density, m²/s³. */
  q: number;
}

/**
 * Turn rate and noise levels were chosen by a small grid search on a generated set with another
 * seed (11) than the shipped evaluation set (7), so the shipped figures are not tuned on themselves.
 */
export const defaultModels: readonly MotionModel[] = [
  { id: 'cv', name: 'constant velocity', kind: 'cv', q: 0.15 },
  { id: 'left', name: 'turn left', kind: 'turn', omega: 0.15, q: 0.15 },
  { id: 'right', name: 'turn right', kind: 'turn', omega: -0.15, q: 0.15 },
  { id: 'stop', name: 'stop', kind: 'stop', tau: 0.8, q: 0.075 },
];

/** Markov mode-switch matrix, row-major: pi[i*n+j] = P(mode j next | mode i now) per prediction step. */
export function defaultSwitchMatrix(n: number, stay = 0.92): Float64Array {
  const pi = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pi[i * n + j] = i === j ? stay : (1 - stay) / (n - 1);
  return pi;
}

/** Shared, learnable switching statistics (one object referenced by every track's IMM). */
export interface Switching {
  readonly n: number;
  pi: Float64Array;
}

export function transitionMatrix(m: MotionModel, dt: number, out: Mat4 = new Float64Array(16)): Mat4 {
  out.fill(0);
  if (m.kind === 'turn' && m.omega) {
    const w = m.omega;
    const s = Math.sin(w * dt);
    const c = Math.cos(w * dt);
    out[0] = 1;
    out[2] = s / w;
    out[3] = -(1 - c) / w;
    out[5] = 1;
    out[6] = (1 - c) / w;
    out[7] = s / w;
    out[10] = c;
    out[11] = -s;
    out[14] = s;
    out[15] = c;
  } else if (m.kind === 'stop' && m.tau) {
    const a = Math.exp(-dt / m.tau);
    out[0] = out[5] = 1;
    out[2] = out[7] = m.tau * (1 - a);
    out[10] = out[15] = a;
  } else {
    out[0] = out[5] = out[10] = out[15] = 1;
    out[2] = out[7] = dt;
  }
  return out;
}

/** F and Q of every model for one step length, cached because futures use a fixed step. */
export class ModelSet {
  private cacheDt = NaN;
  private readonly f: Mat4[];
  private readonly q: Mat4[];
  constructor(readonly models: readonly MotionModel[]) {
    this.f = models.map(() => new Float64Array(16));
    this.q = models.map(() => new Float64Array(16));
  }
  at(dt: number): { f: Mat4[]; q: Mat4[] } {
    if (dt !== this.cacheDt) {
      this.models.forEach((m, i) => {
        transitionMatrix(m, dt, this.f[i]);
        whiteAccelerationQ(dt, m.q, this.q[i]);
      });
      this.cacheDt = dt;
    }
    return { f: this.f, q: this.q };
  }
}

const LOG_2PI = Math.log(2 * Math.PI);

export class Imm {
  readonly x: Vec4[];
  readonly p: Mat4[];
  readonly mu: Float64Array;
  /** Filtered soft counts of mode transitions since the last harvest (for learning the switch matrix). */
  readonly softCounts: Float64Array;
  private readonly tmp = new Float64Array(16);
  readonly modelSet: ModelSet;

  constructor(
    readonly models: readonly MotionModel[],
    readonly switching: Switching,
    x0: Vec4,
    p0: Mat4,
    public t: number,
    sets?: ModelSet,
  ) {
    const n = models.length;
    this.x = models.map(() => new Float64Array(x0));
    this.p = models.map(() => new Float64Array(p0));
    this.mu = new Float64Array(n).fill(1 / n);
    this.softCounts = new Float64Array(n * n);
    this.modelSet = sets ?? new ModelSet(models);
  }

  /** One IMM cycle: interaction (mixing), mode-matched predict and update, mode probability update. */
  step(t: number, z0: number, z1: number, r: Cov2): void {
    const n = this.models.length;
    const dt = t - this.t;
    const pi = this.switching.pi;
    const prevMu = Float64Array.from(this.mu);
    if (dt > 1e-6) {
      // Interaction: mixed initial conditions for every mode.
      const c = new Float64Array(n);
      for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) c[j] = c[j]! + pi[i * n + j]! * this.mu[i]!;
      const xs = this.x.map((v) => Float64Array.from(v));
      const ps = this.p.map((v) => Float64Array.from(v));
      for (let j = 0; j < n; j++) {
        const xj = this.x[j]!;
        const pj = this.p[j]!;
        xj.fill(0);
        pj.fill(0);
        for (let i = 0; i < n; i++) {
          const w = c[j]! > 0 ? (pi[i * n + j]! * this.mu[i]!) / c[j]! : 1 / n;
          for (let k = 0; k < 4; k++) xj[k] = xj[k]! + w * xs[i]![k]!;
        }
        for (let i = 0; i < n; i++) {
          const w = c[j]! > 0 ? (pi[i * n + j]! * this.mu[i]!) / c[j]! : 1 / n;
          if (w === 0) continue;
          const xi = xs[i]!;
          const pp = ps[i]!;
          for (let a = 0; a < 4; a++) {
            const da = xi[a]! - xj[a]!;
            for (let b = 0; b < 4; b++) pj[a * 4 + b] = pj[a * 4 + b]! + w * (pp[a * 4 + b]! + da * (xi[b]! - xj[b]!));
          }
        }
      }
      const { f, q } = this.modelSet.at(dt);
      for (let j = 0; j < n; j++) predictInPlace(this.x[j]!, this.p[j]!, f[j]!, q[j]!, this.tmp);
      this.mu.set(c);
    }
    // Mode-matched updates and likelihoods (in logs, so a far measurement does not underflow to 0/0).
    const logL = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const inn = innovation(this.x[j]!, this.p[j]!, z0, z1, r);
      logL[j] = -0.5 * (inn.d2 + Math.log(Math.max(inn.detS, 1e-300))) - LOG_2PI;
      updateInPlace(this.x[j]!, this.p[j]!, inn);
    }
    let maxL = -Infinity;
    for (let j = 0; j < n; j++) maxL = Math.max(maxL, logL[j]!);
    let total = 0;
    const lik = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      lik[j] = Math.exp(logL[j]! - maxL);
      total += lik[j]! * this.mu[j]!;
    }
    if (!(total > 0)) {
      this.mu.fill(1 / n);
    } else {
      for (let j = 0; j < n; j++) this.mu[j] = (lik[j]! * this.mu[j]!) / total;
    }
    if (dt > 1e-6 && total > 0) {
      // P(mode i before, mode j now | data so far) ∝ π_ij μ_i Λ_j; its sum over a track is the
      // filtered (not smoothed) expected number of i→j switches.
      let z = 0;
      const joint = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          joint[i * n + j] = pi[i * n + j]! * prevMu[i]! * lik[j]!;
          z += joint[i * n + j]!;
        }
      if (z > 0) for (let k = 0; k < n * n; k++) this.softCounts[k] = this.softCounts[k]! + joint[k]! / z;
    }
    this.t = Math.max(this.t, t);
  }

  /** Probability-weighted combination of the modes (the IMM output estimate). */
  combined(): { x: Vec4; p: Mat4 } {
    const x = new Float64Array(4);
    const p = new Float64Array(16);
    this.mu.forEach((w, j) => {
      for (let k = 0; k < 4; k++) x[k] = x[k]! + w * this.x[j]![k]!;
    });
    this.mu.forEach((w, j) => {
      for (let a = 0; a < 4; a++) {
        const da = this.x[j]![a]! - x[a]!;
        for (let b = 0; b < 4; b++) p[a * 4 + b] = p[a * 4 + b]! + w * (this.p[j]![a * 4 + b]! + da * (this.x[j]![b]! - x[b]!));
      }
    });
    return { x, p };
  }
}

export interface FuturePoint {
  /** Seconds after the start of the prediction. */
  dt: number;
  x: number;
  y: number;
  /** Position covariance xx, xy, yy (m²). */
  cov: Cov2;
}

export interface Future {
  /** Mode held first, and the mode switched to (same when no switch). */
  from: number;
  to: number;
  /** Step at which the switch happens (horizon+1 = none). */
  switchStep: number;
  label: string;
  /** Normalised over the futures returned. */
  weight: number;
  points: FuturePoint[];
}

export interface FutureOptions {
  dt: number;
  horizon: number;
  count: number;
}

/**
 * Probable futures by branching over mode sequences. A sequence holds one mode, or holds it and
 * switches once to another; its prior probability is μ_from · π_from,from^(s−1) · π_from,to ·
 * π_to,to^(H−s) (propagated Markov probabilities from the current mode probabilities μ). The `count`
 * most probable sequences are propagated (mean and covariance) with their mode dynamics and their
 * probabilities renormalised; `mass` says how much of the total probability they cover.
 */
export function predictFutures(imm: Imm, opts: FutureOptions): { futures: Future[]; mass: number } {
  const n = imm.models.length;
  const H = opts.horizon;
  const pi = imm.switching.pi;
  // Top-K selection by insertion into small typed arrays: 148 candidates per track, K ≤ 5, and no
  // per-candidate objects (this runs for every track at 5 Hz).
  const K = Math.max(1, opts.count);
  const topP = new Float64Array(K).fill(-1);
  const topFrom = new Int32Array(K);
  const topTo = new Int32Array(K);
  const topS = new Int32Array(K);
  const offer = (pr: number, a: number, b: number, s: number): void => {
    if (pr <= topP[K - 1]!) return;
    let i = K - 1;
    while (i > 0 && topP[i - 1]! < pr) {
      topP[i] = topP[i - 1]!;
      topFrom[i] = topFrom[i - 1]!;
      topTo[i] = topTo[i - 1]!;
      topS[i] = topS[i - 1]!;
      i--;
    }
    topP[i] = pr;
    topFrom[i] = a;
    topTo[i] = b;
    topS[i] = s;
  };
  for (let a = 0; a < n; a++) {
    const mu = imm.mu[a]!;
    const stay = pi[a * n + a]!;
    offer(mu * stay ** H, a, a, H + 1);
    for (let b = 0; b < n; b++) {
      if (b === a) continue;
      const sw = pi[a * n + b]!;
      const stayB = pi[b * n + b]!;
      let pr = mu * sw * stayB ** (H - 1); // switch at step 1
      const ratio = stayB > 0 ? stay / stayB : 0;
      for (let s = 1; s <= H; s++) {
        offer(pr, a, b, s);
        pr *= ratio;
      }
    }
  }
  const chosen: { p: number; from: number; to: number; s: number }[] = [];
  for (let i = 0; i < K; i++) if (topP[i]! >= 0) chosen.push({ p: topP[i]!, from: topFrom[i]!, to: topTo[i]!, s: topS[i]! });
  const mass = chosen.reduce((s, c) => s + c.p, 0);
  const sets = imm.modelSet.at(opts.dt);
  const tmp = new Float64Array(16);
  const futures = chosen.map((c): Future => {
    const x = Float64Array.from(imm.x[c.from]!);
    const p = Float64Array.from(imm.p[c.from]!);
    const points: FuturePoint[] = [];
    for (let k = 1; k <= H; k++) {
      const m = k >= c.s ? c.to : c.from;
      predictInPlace(x, p, sets.f[m]!, sets.q[m]!, tmp);
      points.push({ dt: k * opts.dt, x: x[0]!, y: x[1]!, cov: [p[0]!, p[1]!, p[5]!] });
    }
    const label =
      c.from === c.to ? imm.models[c.from]!.name : `${imm.models[c.from]!.name}, then ${imm.models[c.to]!.name} after ${((c.s - 1) * opts.dt).toFixed(1)} s`;
    return { from: c.from, to: c.to, switchStep: c.s, label, weight: mass > 0 ? c.p / mass : 1 / chosen.length, points };
  });
  return { futures, mass };
}

/** Probability-weighted mean path of a set of futures. */
export function weightedMeanPath(futures: Future[]): { x: number; y: number }[] {
  const h = futures[0]?.points.length ?? 0;
  const out: { x: number; y: number }[] = [];
  for (let k = 0; k < h; k++) {
    let x = 0;
    let y = 0;
    for (const f of futures) {
      x += f.weight * f.points[k]!.x;
      y += f.weight * f.points[k]!.y;
    }
    out.push({ x, y });
  }
  return out;
}
