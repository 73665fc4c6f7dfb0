/**
 * Trajectory prediction evaluation on plain-text `frame id x y` files (the ETH/UCY layout: metres,
 * 0.4 s between annotated frames). Every window of 8 observed + 12 future consecutive frames of a
 * pedestrian is predicted by the IMM and by the constant-velocity baseline in the same run.
 */
import { Imm, ModelSet, defaultModels, defaultSwitchMatrix, predictFutures, weightedMeanPath, type MotionModel } from './imm';
import { initialState, type Cov2 } from './kalman';

export interface Row {
  frame: number;
  id: string;
  x: number;
  y: number;
  line: number;
}

export class TrajectoryParseError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.slice(0, 10).join('\n') + (errors.length > 10 ? `\n(and ${errors.length - 10} more)` : ''));
    this.name = 'TrajectoryParseError';
  }
}

/** Parses the text; blank lines and lines starting with # or // are ignored. All errors are collected. */
export function parseTrajectories(text: string): Row[] {
  const rows: Row[] = [];
  const errors: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const s = raw.trim();
    if (!s || s.startsWith('#') || s.startsWith('//')) return;
    const parts = s.split(/\s+/);
    if (parts.length !== 4) {
      errors.push(`line ${line}: expected 4 fields "frame id x y", found ${parts.length}: "${s.slice(0, 60)}"`);
      return;
    }
    const [f, id, xs, ys] = parts as [string, string, string, string];
    const frame = Number(f);
    const x = Number(xs);
    const y = Number(ys);
    if (!Number.isFinite(frame)) errors.push(`line ${line}: frame "${f}" is not a number`);
    else if (!Number.isFinite(x)) errors.push(`line ${line}: x "${xs}" is not a number`);
    else if (!Number.isFinite(y)) errors.push(`line ${line}: y "${ys}" is not a number`);
    else rows.push({ frame, id: String(Number.isFinite(Number(id)) ? Number(id) : id), x, y, line });
  });
  if (errors.length) throw new TrajectoryParseError(errors);
  return rows;
}

/**
 * Splits rows into windows of `obs + pred` consecutive frames per id. The frame step is the most
 * common gap between consecutive frames of one id (10 in ETH/UCY); a longer gap breaks a track.
 */
export function windows(rows: Row[], obs = 8, pred = 12): { id: string; points: { x: number; y: number }[] }[] {
  const byId = new Map<string, Row[]>();
  for (const r of rows) {
    const list = byId.get(r.id) ?? [];
    list.push(r);
    byId.set(r.id, list);
  }
  const gaps = new Map<number, number>();
  for (const list of byId.values()) {
    list.sort((a, b) => a.frame - b.frame);
    for (let i = 1; i < list.length; i++) {
      const g = list[i]!.frame - list[i - 1]!.frame;
      if (g > 0) gaps.set(g, (gaps.get(g) ?? 0) + 1);
    }
  }
  const step = [...gaps.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 1;
  const len = obs + pred;
  const out: { id: string; points: { x: number; y: number }[] }[] = [];
  for (const [id, list] of byId) {
    let run: Row[] = [];
    const flush = (): void => {
      for (let s = 0; s + len <= run.length; s++) out.push({ id, points: run.slice(s, s + len).map((r) => ({ x: r.x, y: r.y })) });
    };
    for (const r of list) {
      if (run.length && r.frame - run[run.length - 1]!.frame !== step) {
        flush();
        run = [];
      }
      run.push(r);
    }
    flush();
  }
  return out;
}

type P = { x: number; y: number };

/** Constant-velocity baseline: the last observed displacement, repeated. */
export function predictCv(observed: P[], pred: number): P[] {
  const a = observed[observed.length - 2]!;
  const b = observed[observed.length - 1]!;
  const vx = b.x - a.x;
  const vy = b.y - a.y;
  return Array.from({ length: pred }, (_, k) => ({ x: b.x + vx * (k + 1), y: b.y + vy * (k + 1) }));
}

export interface ImmPredictorOptions {
  dt: number;
  models: readonly MotionModel[];
  /** σ of the annotated positions, m. */
  sigmaM: number;
  futures: number;
  stay: number;
}

export const defaultImmPredictor: ImmPredictorOptions = { dt: 0.4, models: defaultModels, sigmaM: 0.05, futures: 5, stay: 0.92 };

/**
 * The evaluated IMM predictor: filter the observed points, branch into the most probable futures
 * and return their probability-weighted mean path (also the most probable future, for reference).
 */
export function createImmPredictor(opts: Partial<ImmPredictorOptions> = {}): (observed: P[], pred: number) => { mean: P[]; top: P[] } {
  const o = { ...defaultImmPredictor, ...opts };
  const sets = new ModelSet(o.models);
  const switching = { n: o.models.length, pi: defaultSwitchMatrix(o.models.length, o.stay) };
  const r: Cov2 = [o.sigmaM ** 2, 0, o.sigmaM ** 2];
  return (observed, pred) => {
    const first = observed[0]!;
    const { x, p } = initialState(first.x, first.y, r, 2);
    const imm = new Imm(o.models, switching, x, p, 0, sets);
    for (let k = 1; k < observed.length; k++) imm.step(k * o.dt, observed[k]!.x, observed[k]!.y, r);
    const { futures } = predictFutures(imm, { dt: o.dt, horizon: pred, count: o.futures });
    const best = futures.reduce((a, b) => (b.weight > a.weight ? b : a));
    return { mean: weightedMeanPath(futures), top: best.points.map((q) => ({ x: q.x, y: q.y })) };
  };
}

export interface EvalResult {
  ade: number;
  fde: number;
  cv_ade: number;
  cv_fde: number;
  tracks: number;
  windows: number;
  /** Which IMM output `ade`/`fde` measure. */
  predictor: 'imm-weighted-mean';
  top1_ade: number;
  top1_fde: number;
}

const dist = (a: P, b: P): number => Math.hypot(a.x - b.x, a.y - b.y);

export function evaluate(rows: Row[], opts: Partial<ImmPredictorOptions> = {}, obs = 8, pred = 12): EvalResult {
  const ws = windows(rows, obs, pred);
  const predict = createImmPredictor(opts);
  const sums = { ade: 0, fde: 0, cvAde: 0, cvFde: 0, tAde: 0, tFde: 0 };
  const ids = new Set<string>();
  for (const w of ws) {
    ids.add(w.id);
    const observed = w.points.slice(0, obs);
    const truth = w.points.slice(obs);
    const cv = predictCv(observed, pred);
    const { mean, top } = predict(observed, pred);
    const err = (path: P[]): [number, number] => {
      const d = truth.map((t, k) => dist(t, path[k]!));
      return [d.reduce((s, v) => s + v, 0) / d.length, d[d.length - 1]!];
    };
    const [a, f] = err(mean);
    const [ca, cf] = err(cv);
    const [ta, tf] = err(top);
    sums.ade += a;
    sums.fde += f;
    sums.cvAde += ca;
    sums.cvFde += cf;
    sums.tAde += ta;
    sums.tFde += tf;
  }
  const n = ws.length || 1;
  const r4 = (v: number): number => Math.round((v / n) * 1e4) / 1e4;
  return {
    ade: r4(sums.ade),
    fde: r4(sums.fde),
    cv_ade: r4(sums.cvAde),
    cv_fde: r4(sums.cvFde),
    tracks: ids.size,
    windows: ws.length,
    predictor: 'imm-weighted-mean',
    top1_ade: r4(sums.tAde),
    top1_fde: r4(sums.tFde),
  };
}
