import type { Dataset } from './data';
import { shuffle, type Rng } from './random';

/**
 * The classifier head: multinomial logistic regression. Parameters are one row per class,
 * [w_1 … w_d, bias], so the count is classes × (features + 1).
 */
export interface HeadShape {
  classes: number;
  features: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** FedProx proximal weight μ: 0 is plain local SGD (FedAvg). */
  mu: number;
}

export const newParams = (shape: HeadShape): Float32Array => new Float32Array(shape.classes * (shape.features + 1));

/** Softmax probabilities of sample i into p; returns the log-probability of its label. */
function forward(w: Float32Array, shape: HeadShape, data: Dataset, i: number, p: Float64Array): number {
  const { classes: k, features: d } = shape;
  const stride = d + 1;
  const off = i * d;
  const x = data.x;
  let max = -Infinity;
  for (let c = 0; c < k; c++) {
    const base = c * stride;
    let z = w[base + d]!;
    for (let j = 0; j < d; j++) z += w[base + j]! * x[off + j]!;
    p[c] = z;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let c = 0; c < k; c++) sum += p[c] = Math.exp(p[c]! - max);
  for (let c = 0; c < k; c++) p[c]! /= sum;
  return Math.log(Math.max(p[data.y[i]!]!, 1e-300));
}

/**
 * Minibatch SGD on the cross-entropy, starting from `start`. The hot loop allocates nothing: one
 * copy of the weights, one gradient buffer and one probability vector per call. With mu > 0 the gradient carries
 * FedProx's proximal term mu·(w − start), which keeps a camera with skewed data near the global model.
 */
export function train(start: Float32Array, shape: HeadShape, data: Dataset, opts: TrainOptions, rng: Rng): { params: Float32Array; loss: number } {
  const { classes: k, features: d } = shape;
  const stride = d + 1;
  const w = start.slice();
  const g = new Float32Array(w.length);
  const p = new Float64Array(k);
  const order = new Uint32Array(data.n);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const x = data.x;
  const lr = opts.lr;
  const mu = opts.mu;
  let lossSum = 0;
  let seen = 0;
  for (let e = 0; e < opts.epochs; e++) {
    shuffle(order, rng);
    for (let from = 0; from < data.n; from += opts.batchSize) {
      const to = Math.min(data.n, from + opts.batchSize);
      const inv = 1 / (to - from);
      g.fill(0);
      for (let s = from; s < to; s++) {
        const i = order[s]!;
        lossSum -= forward(w, shape, data, i, p);
        seen++;
        const off = i * d;
        const label = data.y[i]!;
        for (let c = 0; c < k; c++) {
          const coef = (p[c]! - (c === label ? 1 : 0)) * inv;
          if (Math.abs(coef) < 1e-9) continue;
          const base = c * stride;
          for (let j = 0; j < d; j++) g[base + j]! += coef * x[off + j]!;
          g[base + d]! += coef;
        }
      }
      if (mu > 0) for (let q = 0; q < w.length; q++) w[q]! -= lr * (g[q]! + mu * (w[q]! - start[q]!));
      else for (let q = 0; q < w.length; q++) w[q]! -= lr * g[q]!;
    }
  }
  return { params: w, loss: seen ? lossSum / seen : 0 };
}

/** Accuracy (0..1) and mean cross-entropy on a data set. */
export function evaluate(w: Float32Array, shape: HeadShape, data: Dataset): { accuracy: number; loss: number } {
  const p = new Float64Array(shape.classes);
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < data.n; i++) {
    loss -= forward(w, shape, data, i, p);
    let best = 0;
    for (let c = 1; c < shape.classes; c++) if (p[c]! > p[best]!) best = c;
    if (best === data.y[i]) correct++;
  }
  return { accuracy: data.n ? correct / data.n : 0, loss: data.n ? loss / data.n : 0 };
}
