import { describe, expect, it } from 'vitest';
import { placeLabels } from './labelPlacement';

const overlap = (a: { x: number; y: number }, b: { x: number; y: number }, w: number, h: number): boolean => Math.abs(a.x - b.x) < w && Math.abs(a.y - b.y) < h;

describe('placeLabels', () => {
  it('never places two labels over each other, even when their anchors coincide', () => {
    const reqs = Array.from({ length: 4 }, (_, i) => ({ x: 50, y: 50, w: 20, h: 8, priority: i }));
    const placed = placeLabels(reqs);
    expect(placed.length).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < placed.length; i++) for (let j = i + 1; j < placed.length; j++) expect(overlap(placed[i]!, placed[j]!, 20, 8)).toBe(false);
  });

  it('places the most important label first, where it prefers, and leaves out what cannot fit', () => {
    const reqs = Array.from({ length: 10 }, (_, i) => ({ x: 10, y: 10, w: 20, h: 8, priority: i }));
    const placed = placeLabels(reqs, { bounds: { x: 0, y: 0, w: 60, h: 40 } });
    expect(placed.length).toBeLessThan(10);
    // Index 9 has the highest priority: it gets the first choice (right, above) if it fits the bounds.
    expect(placed.some((p) => p.index === 9)).toBe(true);
    for (const p of placed) expect(p.x >= 0 && p.y >= 0 && p.x + 20 <= 60 && p.y + 8 <= 40).toBe(true);
  });

  it('avoids obstacles', () => {
    const [p] = placeLabels([{ x: 10, y: 20, w: 10, h: 5, priority: 1 }], { obstacles: [{ x: 10, y: 0, w: 30, h: 20 }] });
    expect(p!.y).toBeGreaterThanOrEqual(20);
  });
});
