import { describe, expect, it } from 'vitest';
import { Adam, Mlp } from './mlp';
import { seededRandom } from './rng';

describe('Mlp', () => {
  it('backward gives the gradient finite differences give', () => {
    const net = new Mlp({ layers: [3, 5, 4, 2] }, seededRandom(3));
    // Give the (zero-initialised) output layer weights so every layer's gradient is non-trivial.
    const r = seededRandom(4);
    net.w[2]!.forEach((_, i) => (net.w[2]![i] = r() - 0.5));
    const x = [0.3, -0.7, 1.1];
    const target = [0.5, -0.25];
    const loss = (): number => {
      const y = net.forward(x);
      return 0.5 * ((y[0]! - target[0]!) ** 2 + (y[1]! - target[1]!) ** 2);
    };
    const act = net.newActivations();
    const y = net.forward(x, act);
    const grad = net.zeroGrad();
    net.backward(act, [y[0]! - target[0]!, y[1]! - target[1]!], grad);
    for (let l = 0; l < net.w.length; l++)
      for (let i = 0; i < net.w[l]!.length; i += 3) {
        const w0 = net.w[l]![i]!;
        net.w[l]![i] = w0 + 1e-6;
        const up = loss();
        net.w[l]![i] = w0 - 1e-6;
        const down = loss();
        net.w[l]![i] = w0;
        expect(grad[l]![i]!).toBeCloseTo((up - down) / 2e-6, 6);
      }
  });

  it('starts at zero output and learns a non-linear function with Adam', () => {
    const random = seededRandom(9);
    const net = new Mlp({ layers: [1, 16, 1] }, random);
    expect(net.forward([0.4])[0]).toBe(0);
    const adam = new Adam(net, { learningRate: 0.01 });
    const grad = net.zeroGrad();
    const act = net.newActivations();
    const f = (x: number): number => Math.sin(3 * x);
    const mse = (): number => {
      let s = 0;
      for (let i = 0; i <= 20; i++) s += (net.forward([i / 10 - 1])[0]! - f(i / 10 - 1)) ** 2;
      return s / 21;
    };
    const before = mse();
    for (let it = 0; it < 2000; it++) {
      for (let b = 0; b < 8; b++) {
        const x = 2 * random() - 1;
        const y = net.forward([x], act);
        net.backward(act, [y[0]! - f(x)], grad);
      }
      adam.step(grad, 8);
    }
    expect(mse()).toBeLessThan(before / 20);
  });

  it('round-trips through JSON and refuses weights of the wrong shape', () => {
    const net = new Mlp({ layers: [2, 3, 1] }, seededRandom(1));
    net.w[1]![0] = 0.7;
    const copy = Mlp.fromJSON(net.toJSON());
    expect(copy.forward([0.2, 0.9])[0]).toBe(net.forward([0.2, 0.9])[0]);
    const j = net.toJSON();
    j.weights[0] = j.weights[0]!.slice(1);
    expect(() => Mlp.fromJSON(j)).toThrow(/do not match/);
    expect(() => new Mlp({ layers: [3] })).toThrow();
  });
});
