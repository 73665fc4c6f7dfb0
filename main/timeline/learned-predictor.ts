/**
 * A learned correction to the constant-velocity (CV) prediction of a pedestrian.
 *
 * Each window is expressed in the walker's frame (origin at the last observed position, x along the
 * last step) and divided by the walker's speed, so one network serves every direction and pace of
 * walking and the scenes it learns from transfer to a site it has never seen. A small MLP maps
 * the 7 observed steps (and, when given, the nearest neighbours' positions and velocities at the
 * moment of prediction) to the correction of CV's 12 future positions. It is trained on the
 * Euclidean error in metres (ADE plus FDE, not the squared error), so its output estimates the
 * spatial median of the future at each step: the point with the least expected ADE, which is
 * what "most likely future" is scored by. The output layer starts at zero, so an untrained or
 * unsure network gives CV itself.
 *
 * Modes for best-of-K and the likelihood are the network's point and variants of it turned and
 * stretched about the last position (a fan chosen greedily on the training windows to minimise
 * best-of-K ADE), each weighted by its share of the windows it fits best, with their per-step
 * covariance. The point comes first whatever its weight: it is the estimate scored as "most likely"
 * because it minimises the expected ADE, which the densest mode does not.
 *
 * Trained on other sites, every window is also mirrored left–right at random (no side preferred);
 * adapted to a site's own past (`adapt`), it is not, since the side people turn to there is part of
 * what the site teaches.
 */
import type { Cov2 } from './kalman';
import { Adam, Mlp } from './mlp';
import type { Random } from './rng';
import { HORIZON, OBSERVED, type Mode, type Neighbour, type P } from './site-predictor';

/** Below this step length (m per 0.4 s) the last step's heading is noise; the whole history's is used. */
const MIN_STEP = 0.02;

export interface LearnedExample {
  observed: readonly P[];
  /** 1 to 12 true future positions (shorter ones are masked, as in the evaluation). */
  future: readonly P[];
  neighbours?: readonly Neighbour[];
}

export interface LearnedPredictorOptions {
  hidden: readonly number[];
  /** Neighbours encoded (nearest first); 0 disables social features. */
  neighbours: number;
  /** Neighbours farther than this (m) are not encoded. */
  neighbourRadius: number;
  /** Step lengths below this are raised to it before dividing (m per step). */
  speedFloor: number;
  epochs: number;
  batch: number;
  learningRate: number;
  /** Training windows taken at most from each scene (uniformly, seeded), so no scene dominates. */
  perScene: number;
  /** Number of modes returned (the network's point plus k-means clusters of its errors). */
  modes: number;
  /** Weight of the final step's error in the loss (ADE + fdeWeight·FDE). */
  fdeWeight: number;
  /**
   * Output k is the correction divided by (k + 1) when true: large corrections (a site where
   * everyone turns) are learnt in few steps, but the net also strays from CV more readily.
   */
  stepScaled: boolean;
  /** Epochs and step size of `adapt` (the site's own past). */
  adaptEpochs: number;
  adaptLearningRate: number;
}

export const defaultLearnedOptions: LearnedPredictorOptions = {
  hidden: [32],
  neighbours: 6,
  neighbourRadius: 4,
  speedFloor: 0.05,
  epochs: 8,
  batch: 32,
  learningRate: 3e-3,
  perScene: 5000,
  modes: 5,
  fdeWeight: 1,
  stepScaled: false,
  adaptEpochs: 4,
  adaptLearningRate: 3e-3,
};

interface Frame {
  ox: number;
  oy: number;
  c: number;
  s: number;
  /** Length of the last step, m. */
  speed: number;
  /** Normalising length: max(speed, floor). */
  scale: number;
}

function walkerFrame(obs: readonly P[], floor: number): Frame {
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
  const [c, s] = len < 1e-9 ? [1, 0] : [dx / len, dy / len];
  return { ox: last.x, oy: last.y, c, s, speed, scale: Math.max(speed, floor) };
}

const toLocal = (f: Frame, x: number, y: number): [number, number] => [f.c * x + f.s * y, -f.s * x + f.c * y];
const toGround = (f: Frame, x: number, y: number): [number, number] => [f.c * x - f.s * y, f.s * x + f.c * y];

export function inputSize(opts: Pick<LearnedPredictorOptions, 'neighbours'>): number {
  return 2 * (OBSERVED - 1) + 2 + 5 * opts.neighbours;
}

/** Network input of a window (`flip` mirrors the lateral axis, for augmentation). */
function encode(obs: readonly P[], neighbours: readonly Neighbour[] | undefined, f: Frame, opts: LearnedPredictorOptions, flip: boolean, out: Float64Array): Float64Array {
  const sy = flip ? -1 : 1;
  let i = 0;
  for (let k = 1; k < OBSERVED; k++) {
    const [lx, ly] = toLocal(f, obs[k]!.x - obs[k - 1]!.x, obs[k]!.y - obs[k - 1]!.y);
    out[i++] = lx / f.scale;
    out[i++] = (sy * ly) / f.scale;
  }
  // Absolute pace (m/s) and whether the heading is only the history's: what normalising hides.
  out[i++] = f.speed / 0.4 - 1.2;
  out[i++] = f.speed < MIN_STEP ? 1 : 0;
  if (opts.neighbours > 0) {
    const last = obs[OBSERVED - 1]!;
    const prev = obs[OBSERVED - 2]!;
    const vx = last.x - prev.x;
    const vy = last.y - prev.y;
    const near = (neighbours ?? [])
      .map((n) => ({ n, d: Math.hypot(n.at.x - last.x, n.at.y - last.y) }))
      .filter((e) => e.d <= opts.neighbourRadius)
      .sort((a, b) => a.d - b.d)
      .slice(0, opts.neighbours);
    for (let j = 0; j < opts.neighbours; j++) {
      const e = near[j];
      if (!e) {
        out[i++] = 0;
        out[i++] = 0;
        out[i++] = 0;
        out[i++] = 0;
        out[i++] = 0;
        continue;
      }
      const [px, py] = toLocal(f, e.n.at.x - last.x, e.n.at.y - last.y);
      const nvx = e.n.prev ? e.n.at.x - e.n.prev.x : 0;
      const nvy = e.n.prev ? e.n.at.y - e.n.prev.y : 0;
      const [rvx, rvy] = toLocal(f, nvx - vx, nvy - vy);
      // Positions in metres (personal space does not scale with pace), relative velocity in m per step.
      out[i++] = px / 2;
      out[i++] = (sy * py) / 2;
      out[i++] = rvx / 0.5;
      out[i++] = (sy * rvy) / 0.5;
      out[i++] = 1;
    }
  }
  return out;
}


/** Target of the network: the future minus CV, in the walker's frame, divided by the scale and the step gain. */
function residualTarget(obs: readonly P[], future: readonly P[], f: Frame, flip: boolean, stepGain: (k: number) => number, out: Float64Array): number {
  const h = Math.min(future.length, HORIZON);
  const sy = flip ? -1 : 1;
  const last = obs[OBSERVED - 1]!;
  const prev = obs[OBSERVED - 2]!;
  const [vx, vy] = toLocal(f, last.x - prev.x, last.y - prev.y);
  for (let k = 0; k < h; k++) {
    const [lx, ly] = toLocal(f, future[k]!.x - f.ox, future[k]!.y - f.oy);
    out[2 * k] = (lx - vx * (k + 1)) / f.scale / stepGain(k);
    out[2 * k + 1] = (sy * (ly - vy * (k + 1))) / f.scale / stepGain(k);
  }
  return h;
}

const usable = (xs: readonly LearnedExample[]): LearnedExample[] => xs.filter((e) => e.observed.length >= OBSERVED && e.future.length >= 1);

function shuffle<T>(xs: T[], random: Random): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** At most n of xs, uniformly without replacement (seeded). */
function sample<T>(xs: readonly T[], n: number, random: Random): T[] {
  if (xs.length <= n) return [...xs];
  return shuffle([...xs.keys()], random)
    .slice(0, n)
    .map((i) => xs[i]!);
}

export interface FitReport {
  examples: number;
  /** Mean training loss (m) per epoch. */
  loss: number[];
}

export class LearnedPredictor {
  readonly options: LearnedPredictorOptions;
  private net: Mlp;
  /** Modes as (turn, pace) applied to the network's point; mode 0 is the point itself. */
  private fan: [number, number][] = [[0, 1]];
  private weights: number[] = [1];
  /** Per mode, per step: covariance xx, xy, yy in the walker's frame, in scale units². */
  private covs: Float64Array[] = [new Float64Array(3 * HORIZON).fill(0.05)];
  private readonly act;
  private readonly input: Float64Array;
  /** A sample of the windows first trained on, mixed into adaptation so the site does not erase them. */
  private prior: LearnedExample[] = [];
  private readonly stepGain: (k: number) => number;

  constructor(opts: Partial<LearnedPredictorOptions> = {}) {
    this.options = { ...defaultLearnedOptions, ...opts };
    this.stepGain = this.options.stepScaled ? (k) => k + 1 : () => 1;
    this.net = new Mlp({ layers: [inputSize(this.options), ...this.options.hidden, 2 * HORIZON] });
    this.act = this.net.newActivations();
    this.input = new Float64Array(this.net.inputSize);
  }

  /**
   * Trains on windows grouped by scene (at most `perScene` from each), with every window also
   * mirrored left–right at random each epoch. Deterministic for a given `random`.
   */
  fit(scenes: readonly (readonly LearnedExample[])[], random: Random): FitReport {
    const o = this.options;
    const data = scenes.flatMap((s) => sample(usable(s), o.perScene, random));
    this.net = new Mlp({ layers: [inputSize(o), ...o.hidden, 2 * HORIZON] }, random);
    this.prior = sample(data, o.perScene, random);
    const loss = this.train(data, o.epochs, o.learningRate, random, true);
    this.fitModes(data, random);
    return { examples: data.length, loss };
  }

  /**
   * A copy of this predictor trained further on a site's own past windows (at most `perScene`,
   * mixed with as many of the windows it was first trained on, so it adapts without forgetting),
   * with its modes refitted on the site's windows. This predictor is left unchanged.
   */
  adapt(site: readonly LearnedExample[], random: Random, epochs = this.options.adaptEpochs): { predictor: LearnedPredictor; report: FitReport } {
    const o = this.options;
    const copy = new LearnedPredictor(o);
    copy.net = Mlp.fromJSON(this.net.toJSON());
    copy.prior = this.prior;
    copy.fan = this.fan;
    copy.weights = this.weights;
    copy.covs = this.covs;
    const own = sample(usable(site), o.perScene, random);
    if (own.length === 0) return { predictor: copy, report: { examples: 0, loss: [] } };
    const data = [...own, ...sample(this.prior, own.length, random)];
    // Not mirrored: which way people turn here is what the site can teach.
    const loss = copy.train(data, epochs, o.adaptLearningRate, random, false);
    if (own.filter((e) => e.future.length >= HORIZON).length >= 50 * o.modes) copy.fitModes(own, random);
    return { predictor: copy, report: { examples: data.length, loss } };
  }

  /** `mirror`: each window is mirrored left–right at random (across scenes, no side is preferred). */
  private train(data: readonly LearnedExample[], epochs: number, learningRate: number, random: Random, mirror: boolean): number[] {
    const o = this.options;
    const net = this.net;
    const adam = new Adam(net, { learningRate });
    const grad = net.zeroGrad();
    const act = net.newActivations();
    const x = new Float64Array(net.inputSize);
    const y = new Float64Array(2 * HORIZON);
    const dOut = new Float64Array(2 * HORIZON);
    const frames = data.map((e) => walkerFrame(e.observed.slice(-OBSERVED), o.speedFloor));
    const losses: number[] = [];
    const order = [...data.keys()];
    for (let epoch = 0; epoch < epochs; epoch++) {
      shuffle(order, random);
      // Cosine decay of the step size over the epochs.
      const lr = learningRate * 0.5 * (1 + Math.cos((Math.PI * epoch) / epochs));
      let total = 0;
      let inBatch = 0;
      for (const idx of order) {
        const e = data[idx]!;
        const f = frames[idx]!;
        const obs = e.observed.slice(-OBSERVED);
        const flip = mirror && random() < 0.5;
        encode(obs, e.neighbours, f, o, flip, x);
        const h = residualTarget(obs, e.future, f, flip, this.stepGain, y);
        const out = net.forward(x, act);
        dOut.fill(0);
        // Loss in metres: scale · (mean over steps of the distance + fdeWeight · last distance).
        for (let k = 0; k < h; k++) {
          const ex = out[2 * k]! - y[2 * k]!;
          const ey = out[2 * k + 1]! - y[2 * k + 1]!;
          const d = Math.sqrt(ex * ex + ey * ey + 1e-6);
          const wk = f.scale * this.stepGain(k) * (1 / h + (k === h - 1 ? o.fdeWeight : 0));
          total += wk * d;
          dOut[2 * k] = (wk * ex) / d;
          dOut[2 * k + 1] = (wk * ey) / d;
        }
        net.backward(act, dOut, grad);
        if (++inBatch === o.batch) {
          adam.step(grad, inBatch, lr);
          inBatch = 0;
        }
      }
      if (inBatch > 0) adam.step(grad, inBatch, lr);
      losses.push(total / Math.max(1, data.length));
    }
    return losses;
  }

  /** The network's correction in the walker's frame, in scale units (24 numbers). */
  private correction(obs: readonly P[], neighbours: readonly Neighbour[] | undefined, f: Frame): Float64Array {
    encode(obs, neighbours, f, this.options, false, this.input);
    return this.net.forward(this.input, this.act);
  }

  /**
   * The modes: the network's point and `modes − 1` variants of it, each the point's path turned by
   * an angle and stretched by a pace factor about the last observed position. The variants are
   * chosen greedily from a grid (±45°, pace 0.3–1.6) to minimise the best-of-K ADE on the training
   * windows (a facility-location greedy, which is within 1 − 1/e of the best choice); each mode's
   * weight is its share of the windows it fits best and its covariance is theirs, per step.
   */
  private fitModes(data: readonly LearnedExample[], random: Random): void {
    const K = Math.max(1, this.options.modes);
    const full = sample(
      data.filter((e) => e.future.length >= HORIZON),
      4000,
      random,
    );
    const cands: [number, number][] = [];
    for (let deg = -45; deg <= 45; deg += 5) for (const pace of [0.3, 0.5, 0.7, 0.85, 1, 1.15, 1.3, 1.6]) cands.push([(deg * Math.PI) / 180, pace]);
    // Per window: the point path and the truth in the walker's frame.
    const paths = full.map((e) => {
      const obs = e.observed.slice(-OBSERVED);
      const f = walkerFrame(obs, this.options.speedFloor);
      return { f, point: this.localPoint(obs, e.neighbours, f), truth: e.future.slice(0, HORIZON).map((q) => toLocal(f, q.x - f.ox, q.y - f.oy)) };
    });
    const ade = (w: (typeof paths)[number], [th, pace]: [number, number]): number => {
      const c = pace * Math.cos(th);
      const sn = pace * Math.sin(th);
      let e = 0;
      for (let k = 0; k < HORIZON; k++) {
        const x = w.point[2 * k]!;
        const y = w.point[2 * k + 1]!;
        e += Math.hypot(c * x - sn * y - w.truth[k]![0], sn * x + c * y - w.truth[k]![1]);
      }
      return e / HORIZON;
    };
    const errs = cands.map((cd) => paths.map((w) => ade(w, cd)));
    const chosen = [cands.findIndex(([th, pace]) => th === 0 && pace === 1)];
    const best = Float64Array.from(errs[chosen[0]!]!);
    while (chosen.length < Math.min(K, cands.length) && paths.length > 0) {
      let bj = -1;
      let bv = Infinity;
      errs.forEach((e, j) => {
        if (chosen.includes(j)) return;
        let v = 0;
        for (let i = 0; i < e.length; i++) v += Math.min(best[i]!, e[i]!);
        if (v < bv) [bv, bj] = [v, j];
      });
      chosen.push(bj);
      for (let i = 0; i < best.length; i++) best[i] = Math.min(best[i]!, errs[bj]![i]!);
    }
    const counts = new Float64Array(chosen.length);
    const covs = chosen.map(() => new Float64Array(3 * HORIZON));
    paths.forEach((w, i) => {
      let j = 0;
      chosen.forEach((cj, jj) => {
        if (errs[cj]![i]! < errs[chosen[j]!]![i]!) j = jj;
      });
      counts[j]!++;
      const [th, pace] = cands[chosen[j]!]!;
      const c = pace * Math.cos(th);
      const sn = pace * Math.sin(th);
      for (let k = 0; k < HORIZON; k++) {
        const x = w.point[2 * k]!;
        const y = w.point[2 * k + 1]!;
        const ex = (w.truth[k]![0] - (c * x - sn * y)) / w.f.scale;
        const ey = (w.truth[k]![1] - (sn * x + c * y)) / w.f.scale;
        covs[j]![3 * k] = covs[j]![3 * k]! + ex * ex;
        covs[j]![3 * k + 1] = covs[j]![3 * k + 1]! + ex * ey;
        covs[j]![3 * k + 2] = covs[j]![3 * k + 2]! + ey * ey;
      }
    });
    const n = Math.max(1, paths.length);
    this.fan = chosen.map((j) => cands[j]!);
    // Laplace smoothing: a mode that fits no training window keeps a small weight.
    this.weights = chosen.map((_, j) => (counts[j]! + 1) / (n + chosen.length));
    this.covs = chosen.map((_, j) => covs[j]!.map((v, i) => v / Math.max(1, counts[j]!) + (i % 3 === 1 ? 0 : 1e-3)));
  }

  /** The network's point in the walker's frame (metres, origin at the last position): 24 numbers. */
  private localPoint(obs: readonly P[], neighbours: readonly Neighbour[] | undefined, f: Frame): Float64Array {
    const corr = this.correction(obs, neighbours, f);
    const last = obs[OBSERVED - 1]!;
    const prev = obs[OBSERVED - 2]!;
    const [vx, vy] = toLocal(f, last.x - prev.x, last.y - prev.y);
    const out = new Float64Array(2 * HORIZON);
    for (let k = 0; k < HORIZON; k++) {
      out[2 * k] = vx * (k + 1) + f.scale * this.stepGain(k) * corr[2 * k]!;
      out[2 * k + 1] = vy * (k + 1) + f.scale * this.stepGain(k) * corr[2 * k + 1]!;
    }
    return out;
  }

  /** The single future with the least expected Euclidean error per step (the network's point). */
  predictPoint(observed: readonly P[], horizon = HORIZON, neighbours?: readonly Neighbour[]): P[] {
    return this.predict(observed, horizon, neighbours)[0]!.points;
  }

  /**
   * Weighted futures: the network's point first (mode 0), then the k-means modes by weight. The
   * point is mode 0 whatever its weight: it is the ADE-optimal estimate, not the densest mode.
   */
  predict(observed: readonly P[], horizon = HORIZON, neighbours?: readonly Neighbour[]): Mode[] {
    if (observed.length < OBSERVED) throw new Error(`LearnedPredictor needs ${OBSERVED} observed points, got ${observed.length}`);
    const obs = observed.slice(-OBSERVED);
    const f = walkerFrame(obs, this.options.speedFloor);
    const pt = this.localPoint(obs, neighbours, f);
    const h = Math.min(horizon, HORIZON);
    const sc2 = f.scale * f.scale;
    return this.fan.map(([th, pace], j) => {
      const c = pace * Math.cos(th);
      const sn = pace * Math.sin(th);
      const points: P[] = [];
      const cov: Cov2[] = [];
      const cj = this.covs[j]!;
      for (let k = 0; k < h; k++) {
        const x = pt[2 * k]!;
        const y = pt[2 * k + 1]!;
        const [gx, gy] = toGround(f, c * x - sn * y, sn * x + c * y);
        points.push({ x: f.ox + gx, y: f.oy + gy });
        // The local covariance rotated to the ground frame: R Σ Rᵀ, in metres².
        const a = sc2 * cj[3 * k]!;
        const b = sc2 * cj[3 * k + 1]!;
        const d = sc2 * cj[3 * k + 2]!;
        const { c: rc, s: rs } = f;
        cov.push([rc * rc * a - 2 * rc * rs * b + rs * rs * d, rc * rs * (a - d) + (rc * rc - rs * rs) * b, rs * rs * a + 2 * rc * rs * b + rc * rc * d]);
      }
      return { weight: this.weights[j]!, points, cov };
    });
  }
}

/** What the evaluation needs of a learned predictor: its futures, and a copy adapted to a site's past. */
export interface AdaptivePredictor {
  predict(observed: readonly P[], horizon?: number, neighbours?: readonly Neighbour[]): Mode[];
  adapt(site: readonly LearnedExample[], random: Random): { predictor: AdaptivePredictor };
}

/**
 * Several learned predictors trained alike from different seeds. Its best guess is the mean of the
 * members' points (averaging nets trained from different starts lowers the variance of the
 * estimate, not its bias); the other modes are the first member's, moved by the same per-step
 * offset, with its weights and covariances.
 */
export class LearnedEnsemble implements AdaptivePredictor {
  constructor(readonly members: readonly LearnedPredictor[]) {
    if (members.length === 0) throw new Error('an ensemble needs at least one predictor');
  }

  /** Trains `count` predictors with options `opts` on the same scenes, each from its own seed drawn from `random`. */
  static fit(scenes: readonly (readonly LearnedExample[])[], count: number, random: Random, opts: Partial<LearnedPredictorOptions> = {}): LearnedEnsemble {
    return new LearnedEnsemble(
      Array.from({ length: count }, () => {
        const p = new LearnedPredictor(opts);
        p.fit(scenes, random);
        return p;
      }),
    );
  }

  adapt(site: readonly LearnedExample[], random: Random): { predictor: LearnedEnsemble } {
    return { predictor: new LearnedEnsemble(this.members.map((m) => m.adapt(site, random).predictor)) };
  }

  predict(observed: readonly P[], horizon = HORIZON, neighbours?: readonly Neighbour[]): Mode[] {
    const all = this.members.map((m) => m.predict(observed, horizon, neighbours));
    const first = all[0]!;
    if (all.length === 1) return first;
    const h = first[0]!.points.length;
    const shift = Array.from({ length: h }, (_, k) => {
      let x = 0;
      let y = 0;
      for (const modes of all) {
        x += modes[0]!.points[k]!.x;
        y += modes[0]!.points[k]!.y;
      }
      return { dx: x / all.length - first[0]!.points[k]!.x, dy: y / all.length - first[0]!.points[k]!.y };
    });
    return first.map((m) => ({ ...m, points: m.points.map((q, k) => ({ x: q.x + shift[k]!.dx, y: q.y + shift[k]!.dy })) }));
  }
}
