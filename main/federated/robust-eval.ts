import { attackName, pickByzantine, poisonUpdates, type Attack } from './poison';
import { createRng, shuffle, type Rng } from './random';
import { centeredClip, krum, median, multiKrum, normBoundedMean, tolerance, trimmedMean, weightedMean, type RobustMode } from './robust';

/** Draws from Dirichlet(alpha, …, alpha) by normalising independent Gamma(alpha) draws. */
function dirichlet(k: number, alpha: number, rng: Rng): Float64Array {
  const out = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += out[i] = rng.gamma(alpha);
  if (sum === 0) out[rng.int(k)] = 1;
  else for (let i = 0; i < k; i++) out[i]! /= sum;
  return out;
}

/**
 * The evaluation kit for robust aggregation: the fl2 confirmation head (docs/protocol.md, fl2;
 * "omnisight.head.confirm.v1": logistic regression over 13 detection features, θ = [w_0 … w_12, b],
 * version 0 = w_0 = 4, b = −2) learned by federated rounds on generated per-camera detections, with
 * k poisoned cameras (poison.ts) and any aggregator. Used by robust-eval.test.ts and
 * `npm run eval:robust`; pure (seeded randomness, no clock, no I/O).
 */

export const FEATURES = 13;
export const PARAMS = FEATURES + 1;
export const CLASSES = ['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other'] as const;

/** Labelled detections, row-major n × 13, label 1 = the swarm confirmed it. */
export interface Detections {
  n: number;
  x: Float32Array;
  y: Uint8Array;
}

export interface ConfirmTaskSpec {
  clients: number;
  /** Mean labelled detections per camera (each has between half and one and a half times this). */
  samplesPerClient: number;
  testSamples: number;
  /** Dirichlet concentration of each camera's class mix: small = every camera sees different objects. */
  alpha: number;
}

export interface ConfirmTask {
  spec: ConfirmTaskSpec;
  clients: Detections[];
  test: Detections;
}

// Per class: how much more often than average a detection of it is false, and the box's width/height.
const FALSE_FACTOR = [0.5, 0.3, 0.4, 0.2, 1.2, 2.2, 2.4];
const ASPECT = [0.4, 1.8, 2.0, 2.6, 0.8, 1.3, 1.0];
const SIZE = [0.12, 0.18, 0.25, 0.3, 0.1, 0.08, 0.1];

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

function pick(p: Float64Array, rng: Rng): number {
  let u = rng.float();
  for (let k = 0; k < p.length; k++) if ((u -= p[k]!) < 0) return k;
  return p.length - 1;
}

/**
 * One camera's detections. A detection is real or a false alarm (the camera's own false-alarm rate
 * times the class's factor); real ones score higher and are larger; the swarm confirms 90 % of real
 * ones (another camera saw it too) and 5 % of false ones. So the score alone (head version 0) is a
 * fair guess and class and box size add to it: what a federated round should learn.
 */
function detections(n: number, mix: Float64Array, falseRate: number, rng: Rng): Detections {
  const x = new Float32Array(n * FEATURES);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = pick(mix, rng);
    const real = rng.float() >= clamp(falseRate * FALSE_FACTOR[c]!, 0, 0.95);
    const score = sigmoid(real ? 1 + rng.normal() : -0.2 + rng.normal());
    const size = SIZE[c]! * Math.exp(0.4 * rng.normal()) * (real ? 1 : 0.4);
    const aspect = ASPECT[c]! * Math.exp(0.25 * rng.normal());
    const w = clamp(size * Math.sqrt(aspect), 0.005, 0.9);
    const h = clamp(size / Math.sqrt(aspect), 0.005, 0.9);
    const cx = clamp(0.1 + 0.8 * rng.float(), w / 2, 1 - w / 2);
    const cy = clamp(0.1 + 0.8 * rng.float(), h / 2, 1 - h / 2);
    const row = x.subarray(i * FEATURES, (i + 1) * FEATURES);
    row.set([score, cx, cy, w, h, clamp(Math.log(w / h), -3, 3) / 3]);
    row[6 + c] = 1;
    y[i] = rng.float() < (real ? 0.95 : 0.03) ? 1 : 0;
  }
  return { n, x, y };
}

/** Per-camera detections (non-IID class mix and false-alarm rate) plus a held-out test set of the whole fleet. */
export function generateConfirmTask(spec: ConfirmTaskSpec, rng: Rng): ConfirmTask {
  const clients: Detections[] = [];
  for (let c = 0; c < spec.clients; c++) {
    const mix = dirichlet(CLASSES.length, spec.alpha, rng);
    const n = Math.max(4, Math.round(spec.samplesPerClient * (0.5 + rng.float())));
    clients.push(detections(n, mix, 0.2 + 0.4 * rng.float(), rng));
  }
  const even = new Float64Array(CLASSES.length).fill(1 / CLASSES.length);
  return { spec, clients, test: detections(spec.testSamples, even, 0.4, rng) };
}

/** Head version 0: "the detector's score, squashed". */
export function initialHead(): Float32Array {
  const t = new Float32Array(PARAMS);
  t[0] = 4;
  t[FEATURES] = -2;
  return t;
}

// Monomorphic on purpose (Float64Array weights only): the rounds call it millions of times.
const logit = (t: Float64Array, x: Float32Array, off: number): number => {
  let z = t[FEATURES]!;
  for (let j = 0; j < FEATURES; j++) z += t[j]! * x[off + j]!;
  return z;
};

export interface LocalTraining {
  epochs: number;
  lr: number;
  batchSize: number;
}

/** Local minibatch SGD on the log-loss from θ; returns the update δ = θ_local − θ. */
export function localUpdate(theta: Float32Array, data: Detections, opts: LocalTraining, rng: Rng): Float64Array {
  const w = Float64Array.from(theta);
  const g = new Float64Array(PARAMS);
  const order = new Uint32Array(data.n);
  for (let i = 0; i < data.n; i++) order[i] = i;
  for (let e = 0; e < opts.epochs; e++) {
    shuffle(order, rng);
    for (let from = 0; from < data.n; from += opts.batchSize) {
      const to = Math.min(data.n, from + opts.batchSize);
      g.fill(0);
      for (let s = from; s < to; s++) {
        const i = order[s]!;
        const err = sigmoid(logit(w, data.x, i * FEATURES)) - data.y[i]!;
        for (let j = 0; j < FEATURES; j++) g[j]! += err * data.x[i * FEATURES + j]!;
        g[FEATURES]! += err;
      }
      const step = opts.lr / (to - from);
      for (let j = 0; j < PARAMS; j++) w[j]! -= step * g[j]!;
    }
  }
  for (let j = 0; j < PARAMS; j++) w[j]! -= theta[j]!;
  return w;
}

/** Accuracy at p = 0.5 on a data set (a non-finite model scores 0: it cannot decide anything). */
export function accuracy(params: ArrayLike<number>, data: Detections): number {
  const theta = Float64Array.from(params);
  if (!theta.every(Number.isFinite)) return 0;
  let ok = 0;
  for (let i = 0; i < data.n; i++) if ((logit(theta, data.x, i * FEATURES) >= 0 ? 1 : 0) === data.y[i]) ok++;
  return data.n ? ok / data.n : 0;
}

/** Mean log-loss (cross-entropy, nats) on a data set; Infinity for a non-finite model. */
export function logLoss(params: ArrayLike<number>, data: Detections): number {
  const theta = Float64Array.from(params);
  if (!theta.every(Number.isFinite)) return Infinity;
  let s = 0;
  for (let i = 0; i < data.n; i++) {
    const z = logit(theta, data.x, i * FEATURES);
    // log(1 + e^{-z}) for label 1, log(1 + e^{z}) for label 0, computed without overflow.
    const t = data.y[i] ? -z : z;
    s += t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
  }
  return data.n ? s / data.n : 0;
}

/** An aggregation rule as the coordinator runs it: the round's updates (and its previous step) to one step. */
export interface Aggregator {
  name: string;
  /** The app mode this aggregator implements, for the stated limits (absent for FedAvg, extras, test doubles). */
  mode?: RobustMode;
  aggregate(updates: Float64Array[], previous: Float64Array | undefined): Float64Array;
}

export type RuleSpec =
  | { rule: 'fedavg' }
  | { rule: 'trimmed-mean'; trim: number }
  | { rule: 'median' }
  | { rule: 'krum'; f: number }
  | { rule: 'multi-krum'; f: number }
  | { rule: 'norm-bound' }
  /** FedAvg over updates clamped per coordinate to ±range, what secure aggregation's quantizer does before masking. */
  | { rule: 'clamped-mean'; range: number }
  | { rule: 'centered-clip' };

const equal = (us: Float64Array[]): number[] => us.map(() => 1);

/** The aggregators under test (fl2 weighs every camera equally, so FedAvg here is the plain mean). */
export function aggregator(spec: RuleSpec): Aggregator {
  const mode = modeOf(spec) ?? undefined;
  return { ...ruleAggregator(spec), ...(mode ? { mode } : {}) };
}

function ruleAggregator(spec: RuleSpec): Aggregator {
  switch (spec.rule) {
    case 'fedavg':
      return { name: 'fedavg', aggregate: (us) => weightedMean(us, equal(us)) };
    case 'trimmed-mean':
      return { name: `trimmed-mean ${Math.round(spec.trim * 100)}%`, aggregate: (us) => trimmedMean(us, spec.trim) };
    case 'median':
      return { name: 'median', aggregate: (us) => median(us) };
    case 'krum':
      return { name: `krum f=${spec.f}`, aggregate: (us) => krum(us, spec.f).vector };
    case 'multi-krum':
      return { name: `multi-krum f=${spec.f}`, aggregate: (us) => multiKrum(us, spec.f).vector };
    case 'norm-bound':
      return { name: 'norm-bound (median norm)', aggregate: (us) => normBoundedMean(us, equal(us)) };
    case 'clamped-mean':
      return {
        name: `fedavg clamped ±${spec.range}`,
        aggregate: (us) => weightedMean(us.map((u) => u.map((x) => (Number.isNaN(x) ? 0 : Math.min(spec.range, Math.max(-spec.range, x))))), equal(us)),
      };
    case 'centered-clip':
      return { name: 'centered-clip', aggregate: (us, prev) => centeredClip(us, { center: prev }) };
  }
}

export interface RobustRun {
  task: ConfirmTask;
  rounds: number;
  training: LocalTraining;
  attack: Attack;
  /** Number of poisoned cameras (the same ones every round). */
  poisoned: number;
  aggregator: Aggregator;
  seed: string;
  /** Record the test accuracy after every round (costs one evaluation per round). */
  history?: boolean;
}

export interface RobustResult {
  rule: string;
  attack: string;
  clients: number;
  poisoned: number;
  /** Test accuracy after the last round (null when the rule refused to run). */
  accuracy: number | null;
  /** Test log-loss after the last round (null when refused): a boosted head can keep its accuracy and lose its calibration. */
  loss: number | null;
  /** Accuracy after every round (empty unless asked for). */
  history: number[];
  /** Why the rule refused the round (e.g. Krum with m ≤ 2f + 2): detected, not a silent wrong model. */
  refused: string | null;
}

/**
 * Federated rounds with every camera taking part: each trains from the global head, the poisoned
 * ones replace their update with the attack, the aggregator turns the updates into the step.
 * Training draws come from per-camera streams forked from the seed, so runs with different rules or
 * attacks see the same honest training until their models differ.
 */
export function runRobust(run: RobustRun): RobustResult {
  const m = run.task.clients.length;
  const root = createRng(run.seed);
  const byzantine = pickByzantine(m, run.poisoned, root.fork('byzantine'));
  const streams = run.task.clients.map((_, i) => root.fork(`camera/${i}`));
  const attackRng = root.fork('attack');
  const theta = initialHead();
  const history: number[] = [];
  let previous: Float64Array | undefined;
  const result = (refused: string | null): RobustResult => ({
    rule: run.aggregator.name,
    attack: attackName(run.attack),
    clients: m,
    poisoned: run.poisoned,
    accuracy: refused ? null : accuracy(theta, run.task.test),
    loss: refused ? null : logLoss(theta, run.task.test),
    history,
    refused,
  });
  for (let r = 0; r < run.rounds; r++) {
    const honest = run.task.clients.map((data, i) => localUpdate(theta, data, run.training, streams[i]!));
    const received = poisonUpdates(honest, byzantine, run.attack, attackRng);
    let step: Float64Array;
    try {
      step = run.aggregator.aggregate(received, previous);
    } catch (err) {
      return result((err as Error).message);
    }
    for (let j = 0; j < PARAMS; j++) theta[j]! += step[j]!;
    previous = step;
    if (run.history) history.push(accuracy(theta, run.task.test));
  }
  return result(null);
}

/**
 * The stated margin: a rule "holds" under attack when its test accuracy is at most 5 points below
 * the clean FedAvg run's and its log-loss at most 0.1 nats above (the head's probabilities are used:
 * detections under dropBelow are dropped, so a boosted, overconfident head is a failure even when
 * its accuracy survives).
 */
export const MARGIN = { accuracy: 0.05, loss: 0.1 } as const;

export function withinMargin(r: RobustResult, clean: RobustResult, margin: { accuracy: number; loss: number } = MARGIN): boolean {
  if (r.accuracy === null || r.loss === null || clean.accuracy === null || clean.loss === null) return false;
  return r.accuracy >= clean.accuracy - margin.accuracy && r.loss <= clean.loss + margin.loss;
}

/** The experiment's fixed settings (one place, so the tests and `npm run eval:robust` run the same thing). */
export const SETTINGS = {
  samplesPerClient: 100,
  testSamples: 4000,
  alpha: 0.5,
  rounds: 20,
  training: { epochs: 1, lr: 0.5, batchSize: 16 },
} as const;

/** The attacks of the grid, each at the strength named in its label. */
export const ATTACKS: readonly Attack[] = [
  { kind: 'scale', lambda: 1000 },
  { kind: 'sign-flip', lambda: 10 },
  { kind: 'gaussian', sigma: 10 },
  { kind: 'alie' },
  { kind: 'ipm', epsilon: 0.5 },
  { kind: 'ipm', epsilon: 30 },
];

/** Poisoned counts for m cameras: one, and 10 %, 20 %, 30 % of m (deduplicated, at least 1). */
export const poisonedCounts = (m: number): number[] => [...new Set([1, ...[0.1, 0.2, 0.3].map((s) => Math.max(1, Math.round(s * m)))])];

/** The app's three robust rules as the grid runs them, set for up to 30 % poisoned cameras. */
export const appRules = (m: number): RuleSpec[] => [{ rule: 'trimmed-mean', trim: 0.3 }, { rule: 'median' }, { rule: 'krum', f: Math.floor(0.3 * m) }];

/** The extra rules measured beside them (not offered in the app). */
export const extraRules = (m: number): RuleSpec[] => [
  { rule: 'multi-krum', f: Math.floor(0.3 * m) },
  { rule: 'norm-bound' },
  { rule: 'centered-clip' },
  // The secure mode's only defence: its quantizer clamps each coordinate (the engine's range is 4).
  { rule: 'clamped-mean', range: 4 },
];

/**
 * Where the app's robust rules are not claimed to hold the margin, and why. Everything else is
 * claimed: a cell outside the margin and outside these limits is a failure of the rule.
 * - Beyond a rule's tolerance (robust.ts `tolerance`): median with k ≥ m/2, trimmed mean with more
 *   poisoned cameras than it trims, Krum with more than its f (or refusing m ≤ 2f + 2).
 * - Attacks that put every poisoned value on the same side of each coordinate (sign-flip, IPM) with
 *   more than 10 % of the cameras: a coordinate-wise median or trimmed mean then sits at the honest
 *   values' shifted quantile, a bias that grows with k/m and with how non-IID the cameras are; here it
 *   passes 5 points between 20 % and 30 %.
 * - IPM with a small ε and 10 % or more against Krum: the colluders' identical vector lies inside
 *   the honest cluster, so Krum selects it (the attack Xie et al. 2020 built against Krum and
 *   median); Krum also starts about 3 points below FedAvg on these non-IID cameras, since it keeps
 *   one camera's update (measured with 100 cameras: outside the margin from 10 %).
 */
export function statedLimit(mode: RobustMode, attack: Attack, k: number, m: number): string | null {
  const t = tolerance(mode, m);
  if (mode.rule === 'krum' && m <= 2 * mode.f + 2) return `Krum needs m > 2f + 2 (m = ${m}, f = ${mode.f})`;
  if (k > t.faulty) return `${k} poisoned is beyond the rule's tolerance: ${t.condition}`;
  const share = k / m;
  if (mode.rule === 'krum' && attack.kind === 'ipm' && attack.epsilon < 1 && share >= 0.1)
    return `IPM with ε < 1 and ${Math.round(100 * share)} % colluders lies inside the honest cluster, and Krum selects it`;
  if (mode.rule !== 'krum' && (attack.kind === 'sign-flip' || attack.kind === 'ipm') && share > 0.1)
    return `${attack.kind} with ${Math.round(100 * share)} % poisoned shifts the coordinate-wise ${mode.rule} by a quantile of the honest spread`;
  return null;
}

/** The RobustMode an app rule's RuleSpec stands for (null for FedAvg and the extras). */
export function modeOf(spec: RuleSpec): RobustMode | null {
  if (spec.rule === 'trimmed-mean') return { rule: 'trimmed-mean', trim: spec.trim };
  if (spec.rule === 'median') return { rule: 'median' };
  if (spec.rule === 'krum') return { rule: 'krum', f: spec.f };
  return null;
}

export interface GridCell extends RobustResult {
  withinMargin: boolean;
  /** For the app's robust rules: the stated limit this cell falls under, if any (null = the margin is claimed). */
  limit?: string | null;
}

export interface Grid {
  clients: number;
  seed: string;
  versionZeroAccuracy: number;
  /** FedAvg without an attack: the reference of the margin. */
  reference: GridCell;
  /** Every rule without an attack. */
  clean: GridCell[];
  cells: GridCell[];
}

/** Every attack × poisoned count × rule on one task, each cell judged against clean FedAvg. */
export function runGrid(opts: { clients: number; seed: string; rules: Aggregator[]; attacks?: readonly Attack[]; poisoned?: number[] }): Grid {
  const task = generateConfirmTask({ clients: opts.clients, samplesPerClient: SETTINGS.samplesPerClient, testSamples: SETTINGS.testSamples, alpha: SETTINGS.alpha }, createRng(`${opts.seed}/task`));
  const run = (agg: Aggregator, attack: Attack, poisoned: number): RobustResult =>
    runRobust({ task, rounds: SETTINGS.rounds, training: SETTINGS.training, attack, poisoned, aggregator: agg, seed: opts.seed });
  const reference = run(aggregator({ rule: 'fedavg' }), { kind: 'none' }, 0);
  const judge = (r: RobustResult, a?: Aggregator, attack?: Attack): GridCell => ({
    ...r,
    withinMargin: withinMargin(r, reference),
    ...(a?.mode ? { limit: attack ? statedLimit(a.mode, attack, r.poisoned, opts.clients) : null } : {}),
  });
  const clean = opts.rules.map((a) => judge(run(a, { kind: 'none' }, 0), a));
  const cells: GridCell[] = [];
  for (const attack of opts.attacks ?? ATTACKS)
    for (const k of opts.poisoned ?? poisonedCounts(opts.clients)) for (const a of opts.rules) cells.push(judge(run(a, attack, k), a, attack));
  return { clients: opts.clients, seed: opts.seed, versionZeroAccuracy: accuracy(initialHead(), task.test), reference: judge(reference), clean, cells };
}
