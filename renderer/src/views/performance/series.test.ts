import { describe, expect, it } from 'vitest';
import { fleetTotal, MAX_LINES, rows, timeTick, type SeriesLine } from './series';

describe('performance chart rows', () => {
  it('keys rows by second with one column per camera, every camera of the fleet, in a set that does not change with the values', () => {
    const lines: SeriesLine[] = Array.from({ length: 16 }, (_, i) => ({ label: `CAM${String(i).padStart(2, '0')}`, points: [[1_000 + i, 10 + i], [6_000 + i, 20 + i]] }));
    const r = rows(lines);
    expect(r.keys).toHaveLength(16);
    expect(r.data.map((d) => d.t)).toEqual([1_000, 6_000]);
    expect(r.data[1]!['CAM09']).toBe(29);
    // Other values, same cameras in the same order.
    const again = rows(lines.map((l, i) => ({ ...l, points: l.points.map(([t]) => [t, 100 - i] as [number, number]) })));
    expect(again.keys).toEqual(r.keys);
    expect(rows(Array.from({ length: MAX_LINES + 5 }, (_, i) => ({ label: `C${i}`, points: [[0, i]] }))).keys).toHaveLength(MAX_LINES);
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

describe('health and bottlenecks agree', () => {
  const budget = (description: string, remaining: number, burn1h: number) => ({ slo: description, description, objective: 0.99, remaining, burn: { '5m': burn1h, '30m': burn1h, '1h': burn1h, '6h': burn1h } });
  it('gives the score its reasons, worst first', async () => {
    const { scoreReasons } = await import('./series');
    const r = scoreReasons([budget('Fusion under 1 ms', 0.8, 0.5), budget('Inference under 100 ms', 0.05, 3.2), budget('Fine', 1, 0)]);
    expect(r).toEqual(['Inference under 100 ms: 5 % of its error budget left, spending it 3.2× too fast over the last hour.', 'Fusion under 1 ms: 80 % of its error budget left.']);
  });
  it('does not say "all is well" beside a low score', async () => {
    const { bottleneckSummary } = await import('./series');
    const low = bottleneckSummary([], [budget('Inference under 100 ms', 0.05, 3.2)], 16);
    expect(low).toMatch(/score is low because objectives were missed \(inference under 100 ms\)/);
    expect(bottleneckSummary([], [budget('x', 1, 0)], 100)).toBe('No stage is near saturation with a growing queue.');
    expect(bottleneckSummary([{ stage: 'camera_inference', subject: 'Gate', utilisation: 0.97 }], [], 40)).toMatch(/^Gate \(camera inference\) is 97 % busy/);
  });
});
