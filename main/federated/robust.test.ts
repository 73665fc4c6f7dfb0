import { describe, expect, it } from 'vitest';
import { centeredClip, krum, krumScores, median, multiKrum, normBoundedMean, tolerance, toleranceNote, trimCount, trimmedMean, weightedMean } from './robust';

const v = (...xs: number[]): Float64Array => Float64Array.from(xs);

describe('robust aggregators on hand-computed inputs', () => {
  it('median and trimmed mean sort numerically, not as strings (10 < 9 as text)', () => {
    // As strings "-10" < "-2" < "10" < "2" < "9": a string sort would put 10 before 2 and 9.
    const updates = [v(10), v(2), v(9), v(-10), v(-2)];
    expect(median(updates)[0]).toBe(2);
    expect(trimmedMean(updates, 0.2)[0]).toBeCloseTo((-2 + 2 + 9) / 3, 12);
    expect(median([v(1), v(100), v(3), v(20)])[0]).toBe((3 + 20) / 2);
  });

  it('trimmed mean drops ⌊trim·m⌋ each end even where trim·m is not exact in floating point', () => {
    expect(0.29 * 100).toBeLessThan(29);
    expect(trimCount(0.29, 100)).toBe(29);
    expect(trimCount(0.1, 30)).toBe(3);
    expect(trimCount(0.45, 10)).toBe(4);
    // Never trims everything: at least one value is left.
    expect(trimCount(0.45, 2)).toBe(0);
    expect(trimCount(0.5, 4)).toBe(1);
    // 29 huge values among 100 are all trimmed at 29 %.
    const updates = Array.from({ length: 100 }, (_, i) => v(i < 29 ? 1e9 : 1));
    expect(trimmedMean(updates, 0.29)[0]).toBe(1);
  });

  it('a trimmed mean with trim 0 is the mean, and a median ignores fewer than half outliers', () => {
    const updates = [v(1, 2), v(3, 4), v(5, 600)];
    expect([...trimmedMean(updates, 0)]).toEqual([...weightedMean(updates, [1, 1, 1])]);
    expect([...median(updates)]).toEqual([3, 4]);
  });

  it('Krum picks the update in the tight cluster and refuses m ≤ 2f + 2', () => {
    const updates = [v(0, 0), v(0.1, 0), v(0, 0.1), v(0.1, 0.1), v(0.05, 0.05), v(50, 50), v(-40, 30)];
    const { index } = krum(updates, 2);
    expect(index).toBe(4);
    expect(() => krum(updates.slice(0, 6), 2)).toThrow(/more than 6 updates to tolerate 2/);
    expect(() => krum(updates, 2)).not.toThrow();
  });

  it('Krum never picks a non-finite update, even when it is listed first', () => {
    const updates = [v(NaN, 0), v(Infinity, 1), v(1, 1), v(1.1, 1), v(0.9, 1.05), v(1, 0.95), v(1.02, 1)];
    const scores = krumScores(updates, 2);
    expect(scores[0]).toBe(Infinity);
    expect(scores[1]).toBe(Infinity);
    const { index, vector } = krum(updates, 2);
    expect(index).toBeGreaterThan(1);
    expect([...vector].every(Number.isFinite)).toBe(true);
  });

  it('multi-Krum averages the m − f best-scored updates', () => {
    const updates = [v(1), v(1.2), v(0.8), v(1.1), v(100), v(-100), v(0.9)];
    const { indices, vector } = multiKrum(updates, 2);
    expect(indices.sort()).toEqual([0, 1, 2, 3, 6]);
    expect(vector[0]).toBeCloseTo((1 + 1.2 + 0.8 + 1.1 + 0.9) / 5, 12);
  });

  it('norm bounding scales updates above the median norm down to it and drops non-finite ones', () => {
    const updates = [v(3, 4), v(0, 5), v(6, 8), v(300, 400), v(NaN, 1)];
    // An explicit bound of 5: (6, 8) and (300, 400) become (3, 4); the NaN update counts as zero.
    const out = normBoundedMean(updates, [1, 1, 1, 1, 1], 5);
    expect(out[0]).toBeCloseTo((3 + 0 + 3 + 3 + 0) / 5, 12);
    expect(out[1]).toBeCloseTo((4 + 5 + 4 + 4 + 0) / 5, 12);
    // The default bound is the median norm: norms 5, 5, 10, 500, ∞ → 10, so only (300, 400) shrinks, to (6, 8).
    const auto = normBoundedMean(updates, [1, 1, 1, 1, 1]);
    expect(auto[0]).toBeCloseTo((3 + 0 + 6 + 6 + 0) / 5, 12);
    expect(auto[1]).toBeCloseTo((4 + 5 + 8 + 8 + 0) / 5, 12);
  });

  it('centered clipping moves at most τ per update from the centre', () => {
    const honest = Array.from({ length: 8 }, (_, i) => v(1 + 0.01 * i, 1));
    const poisoned = [v(1000, -1000), v(1000, -1000)];
    const out = centeredClip([...honest, ...poisoned], { center: v(1, 1), iterations: 3 });
    expect(Math.hypot(out[0]! - 1, out[1]! - 1)).toBeLessThan(0.1);
    // With an explicit radius, one iteration from 0 moves each update's pull to at most τ.
    const one = centeredClip([v(10, 0), v(0, 10)], { tau: 1, iterations: 1 });
    expect([...one]).toEqual([0.5, 0.5]);
  });

  it('tolerance states the condition of each rule', () => {
    expect(tolerance({ rule: 'median' }, 20).faulty).toBe(9);
    expect(tolerance({ rule: 'median' }, 21).faulty).toBe(10);
    expect(tolerance({ rule: 'trimmed-mean', trim: 0.1 }, 20)).toMatchObject({ faulty: 2 });
    expect(tolerance({ rule: 'krum', f: 6 }, 20)).toMatchObject({ faulty: 6 });
    const capped = tolerance({ rule: 'krum', f: 6 }, 10);
    expect(capped.faulty).toBe(3);
    expect(capped.condition).toMatch(/fewer than the 6 configured/);
    // The stated tolerance is what Krum accepts: f = faulty runs, faulty + 1 is refused.
    const ten = Array.from({ length: 10 }, (_, i) => v(i));
    expect(() => krum(ten, capped.faulty)).not.toThrow();
    expect(() => krum(ten, capped.faulty + 1)).toThrow();
  });

  it('the view’s note states each rule’s condition and the count for the round size', () => {
    expect(toleranceNote({ rule: 'median' }, 9)).toMatch(/fewer than half .* \(f < m\/2\); with 9 cameras per round it tolerates up to 4 poisoned/);
    expect(toleranceNote({ rule: 'trimmed-mean', trim: 0.1 }, 20)).toMatch(/trim fraction is at least the poisoned share; with 20 cameras per round it tolerates up to 2 poisoned/);
    expect(toleranceNote({ rule: 'krum', f: 1 }, 20)).toMatch(/m > 2f \+ 2; with 20 cameras per round it tolerates up to 1 poisoned\. Set f/);
    expect(toleranceNote({ rule: 'krum', f: 4 }, 7)).toMatch(/up to 2 poisoned \(fewer than the 4 configured: Krum needs m > 2f \+ 2\)/);
    expect(toleranceNote({ rule: 'median' }, 0)).toMatch(/needs at least 3 cameras per round/);
  });
});
