/**
 * A small multilayer perceptron (dense layers, tanh hidden units, linear output) trained with Adam
 * on a loss whose gradient the caller supplies.
 *
 * Written here rather than taken from a library: the networks used by the timeline are a few
 * thousand weights trained on a few ten thousand windows, in the main process, deterministically
 * from a seed; the maintained JavaScript libraries (TensorFlow.js, brain.js, ONNX runtimes) bring
 * native or WebGL back ends, megabytes of code and no caller-defined loss without their graph API.
 */
import { gaussian, type Random } from './rng';

export interface MlpShape {
  /** Sizes of every layer, input first, output last. */
  layers: readonly number[];
}

export interface MlpJson {
  layers: number[];
  weights: number[][];
}

/** Per-sample scratch of a forward pass (activations of every layer), reused by backward. */
export interface Activations {
  a: Float64Array[];
}

export class Mlp {
  readonly layers: number[];
  /** Per layer l (0..L-2): weights (out × in, row-major) followed by out biases. */
  readonly w: Float64Array[];

  constructor(shape: MlpShape, random?: Random) {
    if (shape.layers.length < 2 || shape.layers.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('an MLP needs at least an input and an output layer of positive sizes');
    this.layers = [...shape.layers];
    this.w = [];
    for (let l = 0; l + 1 < this.layers.length; l++) {
      const nin = this.layers[l]!;
      const nout = this.layers[l + 1]!;
      const w = new Float64Array(nout * nin + nout);
      // Glorot-normal start; the output layer starts at zero so an untrained net predicts 0 (the caller's prior).
      const last = l + 2 === this.layers.length;
      if (random && !last) {
        const sd = Math.sqrt(2 / (nin + nout));
        for (let i = 0; i < nout * nin; i++) w[i] = sd * gaussian(random);
      }
      this.w.push(w);
    }
  }

  get inputSize(): number {
    return this.layers[0]!;
  }

  get outputSize(): number {
    return this.layers[this.layers.length - 1]!;
  }

  newActivations(): Activations {
    return { a: this.layers.map((n) => new Float64Array(n)) };
  }

  /** Forward pass; returns the output layer (a view into `act`). */
  forward(input: ArrayLike<number>, act: Activations = this.newActivations()): Float64Array {
    const a = act.a;
    const a0 = a[0]!;
    for (let i = 0; i < a0.length; i++) a0[i] = input[i]!;
    const L = this.w.length;
    for (let l = 0; l < L; l++) {
      const nin = this.layers[l]!;
      const nout = this.layers[l + 1]!;
      const w = this.w[l]!;
      const x = a[l]!;
      const y = a[l + 1]!;
      const hidden = l + 1 < L;
      for (let o = 0; o < nout; o++) {
        let s = w[nout * nin + o]!;
        const row = o * nin;
        for (let i = 0; i < nin; i++) s += w[row + i]! * x[i]!;
        y[o] = hidden ? Math.tanh(s) : s;
      }
    }
    return a[L]!;
  }

  /** Accumulates the gradient of the loss into `grad`, given dLoss/dOutput of the last forward pass on `act`. */
  backward(act: Activations, dOut: ArrayLike<number>, grad: Float64Array[]): void {
    const a = act.a;
    const L = this.w.length;
    let delta = Float64Array.from(dOut as ArrayLike<number>);
    for (let l = L - 1; l >= 0; l--) {
      const nin = this.layers[l]!;
      const nout = this.layers[l + 1]!;
      const w = this.w[l]!;
      const g = grad[l]!;
      const x = a[l]!;
      for (let o = 0; o < nout; o++) {
        const d = delta[o]!;
        if (d === 0) continue;
        const row = o * nin;
        for (let i = 0; i < nin; i++) g[row + i] = g[row + i]! + d * x[i]!;
        g[nout * nin + o] = g[nout * nin + o]! + d;
      }
      if (l === 0) break;
      const prev = new Float64Array(nin);
      for (let o = 0; o < nout; o++) {
        const d = delta[o]!;
        if (d === 0) continue;
        const row = o * nin;
        for (let i = 0; i < nin; i++) prev[i] = prev[i]! + d * w[row + i]!;
      }
      // tanh' = 1 − a²
      for (let i = 0; i < nin; i++) prev[i] = prev[i]! * (1 - x[i]! * x[i]!);
      delta = prev;
    }
  }

  zeroGrad(): Float64Array[] {
    return this.w.map((w) => new Float64Array(w.length));
  }

  toJSON(): MlpJson {
    return { layers: [...this.layers], weights: this.w.map((w) => [...w]) };
  }

  static fromJSON(j: MlpJson): Mlp {
    const m = new Mlp({ layers: j.layers });
    if (j.weights.length !== m.w.length || j.weights.some((w, l) => w.length !== m.w[l]!.length)) throw new Error('MLP weights do not match its layer sizes');
    j.weights.forEach((w, l) => m.w[l]!.set(w));
    return m;
  }
}

export interface AdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** L2 penalty on weights (not biases' gradient-free shrink: applied to every parameter). */
  weightDecay: number;
}

export const defaultAdam: AdamOptions = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

/** Adam optimiser state for one network. */
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  readonly options: AdamOptions;

  constructor(
    private readonly net: Mlp,
    opts: Partial<AdamOptions> = {},
  ) {
    this.options = { ...defaultAdam, ...opts };
    this.m = net.zeroGrad();
    this.v = net.zeroGrad();
  }

  /** One step with the (summed) gradient divided by `batch`; zeroes the gradient afterwards. */
  step(grad: Float64Array[], batch: number, learningRate = this.options.learningRate): void {
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    for (let l = 0; l < grad.length; l++) {
      const g = grad[l]!;
      const w = this.net.w[l]!;
      const m = this.m[l]!;
      const v = this.v[l]!;
      for (let i = 0; i < g.length; i++) {
        const gi = g[i]! / batch + weightDecay * w[i]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * gi;
        v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
        w[i] = w[i]! - (learningRate * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + epsilon);
        g[i] = 0;
      }
    }
  }
}
