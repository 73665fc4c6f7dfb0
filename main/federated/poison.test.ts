import { describe, expect, it } from 'vitest';
import { alieZ, normalCdf, normalQuantile, pickByzantine, poisonUpdates } from './poison';
import { createRng } from './random';

const v = (...xs: number[]): Float64Array => Float64Array.from(xs);
const honest = [v(1, 2), v(3, 2), v(5, 8), v(7, 0)];

describe('adversary model', () => {
  it('scale and sign-flip replace only the poisoned positions, from their own honest update', () => {
    const scaled = poisonUpdates(honest, [1], { kind: 'scale', lambda: 10 }, createRng(1));
    expect(scaled.map((u) => [...u])).toEqual([[1, 2], [30, 20], [5, 8], [7, 0]]);
    const flipped = poisonUpdates(honest, [0, 3], { kind: 'sign-flip', lambda: 2 }, createRng(1));
    expect(flipped.map((u) => [...u])).toEqual([[-2, -4], [3, 2], [5, 8], [-14, -0]]);
    // The honest input is not modified.
    expect([...honest[1]!]).toEqual([3, 2]);
  });

  it('Gaussian noise is independent per poisoned camera and has the stated spread', () => {
    const many = Array.from({ length: 3 }, () => new Float64Array(20_000));
    const out = poisonUpdates(many, [0, 2], { kind: 'gaussian', sigma: 4 }, createRng('g'));
    const std = Math.sqrt(out[0]!.reduce((s, x) => s + x * x, 0) / out[0]!.length);
    expect(std).toBeGreaterThan(3.9);
    expect(std).toBeLessThan(4.1);
    expect(out[0]![0]).not.toBe(out[2]![0]);
    expect(out[1]!.every((x) => x === 0)).toBe(true);
  });

  it('colluders send one crafted vector: IPM is −ε × the honest cameras’ mean', () => {
    const out = poisonUpdates(honest, [2, 3], { kind: 'ipm', epsilon: 0.5 }, createRng(1));
    expect([...out[2]!]).toEqual([-1, -1]);
    expect([...out[3]!]).toEqual([-1, -1]);
  });

  it('ALIE sends μ − z·σ of all honest updates, z = Baruch et al.’s z_max by default', () => {
    const out = poisonUpdates(honest, [0], { kind: 'alie', z: 1 }, createRng(1));
    // Coordinate 0: values 1, 3, 5, 7 → μ = 4, σ = √5.
    expect(out[0]![0]).toBeCloseTo(4 - Math.sqrt(5), 12);
    expect(out[0]![1]).toBeCloseTo(3 - Math.sqrt(9), 12);
    // m = 50, k = 24 (the paper's example): s = 26 − 24 = 2, z = Φ⁻¹(48/50) ≈ 1.75.
    expect(alieZ(50, 24)).toBeCloseTo(1.751, 2);
    expect(alieZ(20, 2)).toBeCloseTo(normalQuantile(11 / 20), 9);
  });

  it('the normal CDF and its inverse agree with known values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.1)).toBeCloseTo(-1.281552, 5);
  });

  it('poisoned cameras are k distinct positions, reproducible from the seed', () => {
    const a = pickByzantine(100, 30, createRng('b'));
    expect(new Set(a).size).toBe(30);
    expect(a.every((i) => i >= 0 && i < 100)).toBe(true);
    expect(pickByzantine(100, 30, createRng('b'))).toEqual(a);
    expect(() => pickByzantine(5, 6, createRng('b'))).toThrow(/cannot poison 6 of 5/);
    expect(() => poisonUpdates(honest, [4], { kind: 'scale', lambda: 2 }, createRng(1))).toThrow(/not among 4/);
  });
});
