// The confirmation head "omnisight.head.confirm.v1" (FL-SPEC): logistic regression over 13
// features of one detection, θ = 14 float32 [w_0 … w_12, b]. Pure functions: features, scoring,
// mini-batch SGD with a seeded shuffle, and the held-out metrics.
import { createRng } from '../rng';

export const HEAD_NAME = 'omnisight.head.confirm.v1';
export const FEATURES = 13;
export const CLASSES = ['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other'] as const;

export interface Head {
  name: typeof HEAD_NAME;
  version: number;
  /** 14 values, float32-exact. */
  params: number[];
  dropBelow: number;
  /** Where it came from: built in, a deployed package file, or a round's result. */
  source: 'builtin' | 'package' | 'round';
  round?: string | number;
}

const f32 = (v: number): number => Math.fround(v);

/** Version 0: all zeros except w_0 = 4 and b = −2 ("the detector's score, squashed"). */
export function builtinHead(): Head {
  const params = new Array<number>(FEATURES + 1).fill(0);
  params[0] = 4;
  params[FEATURES] = -2;
  return { name: HEAD_NAME, version: 0, params, dropBelow: 0.05, source: 'builtin' };
}

export interface ObsLike {
  bounding_box: { left: number; top: number; right: number; bottom: number };
  class: { type: string; score: number };
}

/** [score, cx, cy, w, h, a, Human, Car, Truck, Bus, Bike, Animal, Other]. */
export function features(o: ObsLike): number[] {
  const b = o.bounding_box;
  const w = b.right - b.left;
  const h = b.bottom - b.top;
  const a = Math.min(3, Math.max(-3, Math.log(w / h))) / 3;
  const x = [o.class.score, (b.left + b.right) / 2, (b.top + b.bottom) / 2, w, h, Number.isFinite(a) ? a : 0];
  for (const c of CLASSES) x.push(o.class.type === c ? 1 : 0);
  return x;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export function predict(params: readonly number[], x: readonly number[]): number {
  let z = params[FEATURES]!;
  for (let i = 0; i < FEATURES; i++) z += params[i]! * x[i]!;
  return sigmoid(z);
}

export interface Sample {
  x: number[];
  y: 0 | 1;
}

/**
 * Mini-batch SGD on the mean log-loss from `start`, `epochs` passes, learning rate `lr`, batches of
 * `batchSize` in an order shuffled per epoch by `seed`. Returns float32-rounded parameters.
 */
export function train(start: readonly number[], data: readonly Sample[], o: { epochs: number; lr: number; batchSize: number; seed: number }): number[] {
  const w = start.map(Number);
  if (data.length === 0) return w.map(f32);
  const rng = createRng(o.seed);
  const order = data.map((_, i) => i);
  const grad: number[] = new Array<number>(FEATURES + 1).fill(0);
  for (let e = 0; e < o.epochs; e++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let s = 0; s < order.length; s += o.batchSize) {
      grad.fill(0);
      const end = Math.min(order.length, s + o.batchSize);
      for (let k = s; k < end; k++) {
        const d = data[order[k]!]!;
        const err = predict(w, d.x) - d.y;
        for (let i = 0; i < FEATURES; i++) grad[i] = grad[i]! + err * d.x[i]!;
        grad[FEATURES] = grad[FEATURES]! + err;
      }
      const n = end - s;
      for (let i = 0; i <= FEATURES; i++) w[i] = w[i]! - (o.lr * grad[i]!) / n;
    }
  }
  return w.map(f32);
}

export interface Metrics {
  n: number;
  /** Mean binary cross-entropy (natural log), probabilities clipped to [1e-7, 1 − 1e-7]. */
  logLoss: number;
  /** Share of samples where p ≥ 0.5 agrees with the label. */
  accuracy: number;
  /** Of the negatives (detections the swarm did not confirm): the share the head lets through (p ≥ dropBelow). */
  falsePublished: number;
  /** Of the positives: the share the head keeps (p ≥ dropBelow). */
  trueKept: number;
}

export function evaluate(params: readonly number[], data: readonly Sample[], dropBelow: number): Metrics {
  let loss = 0;
  let right = 0;
  let neg = 0;
  let negPub = 0;
  let pos = 0;
  let posKept = 0;
  for (const d of data) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, predict(params, d.x)));
    loss += d.y === 1 ? -Math.log(p) : -Math.log(1 - p);
    if ((p >= 0.5 ? 1 : 0) === d.y) right++;
    if (d.y === 1) {
      pos++;
      if (p >= dropBelow) posKept++;
    } else {
      neg++;
      if (p >= dropBelow) negPub++;
    }
  }
  const n = data.length;
  const r4 = (v: number): number => Math.round(v * 10000) / 10000;
  return { n, logLoss: n ? r4(loss / n) : 0, accuracy: n ? r4(right / n) : 0, falsePublished: neg ? r4(negPub / neg) : 0, trueKept: pos ? r4(posKept / pos) : 0 };
}
