import type { Rng } from './random';

/** Features row-major (n × d) and class labels; one camera's local data or a test set. */
export interface Dataset {
  n: number;
  d: number;
  x: Float32Array;
  y: Uint16Array;
}

export interface TaskSpec {
  /** Number of classes of the detector head. */
  classes: number;
  /** Feature dimension (the head's input). Parameters = classes × (features + 1). */
  features: number;
  clients: number;
  /** Mean samples per camera; each camera gets between half and one and a half times this. */
  samplesPerClient: number;
  testSamples: number;
  /** Dirichlet concentration over classes per camera: small = very non-IID. */
  alpha: number;
  /** Expected distance between two class means in units of the within-class noise. */
  separation: number;
}

export interface Task {
  spec: TaskSpec;
  clients: Dataset[];
  test: Dataset;
  /** Per-camera class proportions, kept so a view or test can show how skewed the split is. */
  proportions: Float64Array[];
}

export const paramCount = (spec: Pick<TaskSpec, 'classes' | 'features'>): number => spec.classes * (spec.features + 1);

/** Draws from Dirichlet(alpha, …, alpha) by normalising independent Gamma(alpha) draws. */
export function dirichlet(k: number, alpha: number, rng: Rng): Float64Array {
  const out = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += out[i] = rng.gamma(alpha);
  if (sum === 0) out[rng.int(k)] = 1;
  else for (let i = 0; i < k; i++) out[i]! /= sum;
  return out;
}

function drawClass(p: Float64Array, rng: Rng): number {
  let u = rng.float();
  for (let k = 0; k < p.length; k++) {
    u -= p[k]!;
    if (u < 0) return k;
  }
  return p.length - 1;
}

function sample(means: Float32Array, d: number, labels: Uint16Array, rng: Rng): Dataset {
  const n = labels.length;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const base = labels[i]! * d;
    for (let j = 0; j < d; j++) x[i * d + j] = means[base + j]! + rng.normal();
  }
  return { n, d, x, y: labels };
}

/**
 * A synthetic stand-in for detector-head features: Gaussian class clusters (unit within-class
 * noise) in d dimensions, split across cameras with a Dirichlet(alpha) over classes, plus a
 * balanced held-out test set from the same distribution. Nothing is downloaded.
 */
export function generateTask(spec: TaskSpec, rng: Rng): Task {
  const { classes: k, features: d } = spec;
  // Means ~ N(0, s²I) with s chosen so two means lie `separation` apart on average.
  const s = spec.separation / Math.sqrt(2 * d);
  const means = new Float32Array(k * d);
  for (let i = 0; i < means.length; i++) means[i] = s * rng.normal();
  const clients: Dataset[] = [];
  const proportions: Float64Array[] = [];
  for (let c = 0; c < spec.clients; c++) {
    const p = dirichlet(k, spec.alpha, rng);
    const n = Math.max(2, Math.round(spec.samplesPerClient * (0.5 + rng.float())));
    const labels = new Uint16Array(n);
    for (let i = 0; i < n; i++) labels[i] = drawClass(p, rng);
    clients.push(sample(means, d, labels, rng));
    proportions.push(p);
  }
  const testLabels = new Uint16Array(spec.testSamples);
  for (let i = 0; i < testLabels.length; i++) testLabels[i] = i % k;
  return { spec, clients, test: sample(means, d, testLabels, rng), proportions };
}

/** All cameras' data in one set: what centralised training would see. */
export function pool(sets: Dataset[]): Dataset {
  const d = sets[0]?.d ?? 0;
  const n = sets.reduce((a, s) => a + s.n, 0);
  const x = new Float32Array(n * d);
  const y = new Uint16Array(n);
  let at = 0;
  for (const s of sets) {
    x.set(s.x, at * d);
    y.set(s.y, at);
    at += s.n;
  }
  return { n, d, x, y };
}
