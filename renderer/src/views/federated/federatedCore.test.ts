import { describe, expect, it } from 'vitest';
import { effectiveNeighbours, graphTitle, reportedBy, setupText } from './federatedCore';

const ready = (k: number, cameras: number, tk: number) => ({ state: 'ready' as const, round: 'r1', k, tk, cameras, setupMs: 1200, goBy: null, reason: null });

describe('Federated view: neighbour counts', () => {
  it('an 8-camera fleet with K = 12: each camera has 7 neighbours, not 12', () => {
    const t = setupText(ready(12, 8, 6), () => '');
    expect(t).toContain('8 cameras, 7 neighbours each (every other camera; K = 12)');
    expect(t).not.toMatch(/12 ring neighbours/);
  });
  it('a fleet larger than K + 1: K ring neighbours each', () => {
    expect(setupText(ready(28, 100, 19), () => '')).toContain('100 cameras, 28 ring neighbours each (K = 28), 19 shares');
  });
  it('while setting up, and in the round table', () => {
    expect(setupText({ ...ready(12, 5, 4), state: 'setting-up' }, () => '')).toContain('with 5 cameras, 4 neighbours each');
    expect(graphTitle({ k: 12, tk: 6 }, 8)).toBe('7 neighbours each (every other camera; K = 12), tk = 6');
    expect(effectiveNeighbours(12, 2)).toBe(1);
    expect(effectiveNeighbours(12, 0)).toBe(0);
  });
});

describe('Federated view: model table', () => {
  it('says "1 camera", not "1 cameras"', () => {
    expect(reportedBy(1, 108)).toBe('1 camera, 108 detections');
    expect(reportedBy(8, 1)).toBe('8 cameras, 1 detection');
  });
});
