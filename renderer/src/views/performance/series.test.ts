import { describe, expect, it } from 'vitest';
import { fleetTotal, MAX_LINES, rows, timeTick, type SeriesLine } from './series';

describe('performance chart rows', () => {
  it('keys rows by second with one column per camera, and keeps the worst lines', () => {
    const lines: SeriesLine[] = Array.from({ length: 10 }, (_, i) => ({ label: `CAM${i}`, points: [[1_000 + i, 10 + i], [6_000 + i, 20 + i]] }));
    const r = rows(lines);
    expect(r.keys).toHaveLength(MAX_LINES);
    expect(r.keys).not.toContain('CAM0'); // the two lowest by last value are dropped
    expect(r.keys).not.toContain('CAM1');
    expect(r.data.map((d) => d.t)).toEqual([1_000, 6_000]);
    expect(r.data[1]!['CAM9']).toBe(29);
  });

  it('ignores empty lines', () => {
    expect(rows([{ label: 'A', points: [] }])).toEqual({ data: [], keys: [] });
  });
});

describe('fleet total', () => {
  it('sums cameras reporting with different phases without splitting an instant into half-totals', () => {
    // Three cameras at 10 fps, each reporting every 5 s but 2.4 s apart: rounding by 5 s would
    // put them in different buckets and show 10 or 20 instead of 30.
    const cam = (phase: number): SeriesLine => ({ label: `c${phase}`, points: Array.from({ length: 6 }, (_, i) => [100_000 + phase + i * 5_000, 10]) });
    const total = fleetTotal([cam(0), cam(2_400), cam(4_800)], 5_000);
    const full = total.filter(([t]) => t >= 105_000);
    expect(full.length).toBeGreaterThan(3);
    for (const [, v] of full) expect(v).toBe(30);
  });

  it('drops a camera a few steps after its last point', () => {
    const a: SeriesLine = { label: 'a', points: Array.from({ length: 10 }, (_, i) => [i * 5_000, 5]) };
    const b: SeriesLine = { label: 'b', points: [[0, 7]] };
    const total = new Map(fleetTotal([a, b], 5_000));
    expect(total.get(0)).toBe(12);
    expect(total.get(15_000)).toBe(12);
    expect(total.get(20_000)).toBe(5);
  });

  it('is empty with no points', () => {
    expect(fleetTotal(undefined, 5_000)).toEqual([]);
  });
});

describe('time ticks', () => {
  it('shows seconds on short spans only', () => {
    const t = new Date(2026, 0, 1, 13, 5, 42).getTime();
    expect(timeTick(t, 60_000)).toMatch(/13.05.42/);
    expect(timeTick(t, 60 * 60_000)).not.toMatch(/42/);
  });
});
