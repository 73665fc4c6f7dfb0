import { describe, expect, it } from 'vitest';
import { boxesOverlap } from '../../components/labelPlacement';
import { placeGraphLabels, type GraphLabelNode } from './graphLabels';

const node = (id: string, x: number, y: number, w = 110, priority = 0): GraphLabelNode => ({ id, text: `Demo ${id} (P3265-LVE)`, x, y, r: 6, w, priority });
const inside = (l: { x: number; y: number; w: number; h: number }, b: { w: number; h: number }): boolean => l.x >= 0 && l.y >= 0 && l.x + l.w <= b.w && l.y + l.h <= b.h;
const coversDot = (l: { x: number; y: number; w: number; h: number }, n: GraphLabelNode): boolean => l.x < n.x + n.r && n.x - n.r < l.x + l.w && l.y < n.y + n.r && n.y - n.r < l.y + l.h;

describe('placeGraphLabels', () => {
  it('puts a lone name centred above its camera, whole', () => {
    const [l] = placeGraphLabels([node('1', 200, 100)], { w: 400, h: 300 });
    expect(l).toMatchObject({ id: '1', text: 'Demo 1 (P3265-LVE)', w: 110 });
    expect(l!.x + l!.w / 2).toBeCloseTo(200);
    expect(l!.y + l!.h).toBeLessThanOrEqual(100 - 6);
  });

  it('two cameras side by side (the labels that printed over each other): both named, apart', () => {
    const labels = placeGraphLabels([node('7', 300, 150), node('1', 330, 160)], { w: 600, h: 400 });
    expect(labels).toHaveLength(2);
    expect(boxesOverlap(labels[0]!, labels[1]!)).toBe(false);
  });

  it('a camera at the edge gets its name inward, not cut by the edge', () => {
    const bounds = { w: 400, h: 300 };
    const [l] = placeGraphLabels([node('3', 395, 150)], bounds);
    expect(inside(l!, bounds)).toBe(true);
    expect(l!.x + l!.w).toBeLessThanOrEqual(395);
  });

  it('a crowded cluster: no two names overlap, none covers a dot, all inside; a name that cannot fit is left out, not overprinted', () => {
    const bounds = { w: 500, h: 260 };
    // Deterministic positions: a 4×3 grid 40 px apart, every name 110 px wide.
    const nodes = Array.from({ length: 12 }, (_, i) => node(String(i + 1), 180 + (i % 4) * 40, 90 + Math.floor(i / 4) * 40, 110, i === 5 ? 1 : 0));
    const labels = placeGraphLabels(nodes, bounds);
    expect(labels.length).toBeGreaterThan(3);
    for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) expect(boxesOverlap(labels[i]!, labels[j]!)).toBe(false);
    for (const l of labels) {
      expect(inside(l, bounds)).toBe(true);
      for (const n of nodes) expect(coversDot(l, n)).toBe(false);
    }
    // The head (priority 1) is named whatever else is left out.
    expect(labels.some((l) => l.id === '6')).toBe(true);
  });

  it('is stable: the same input in another order gives the same placement', () => {
    const nodes = [node('a', 100, 100), node('b', 120, 105), node('c', 140, 110)];
    const bounds = { w: 400, h: 300 };
    expect(placeGraphLabels([...nodes].reverse(), bounds)).toEqual(placeGraphLabels(nodes, bounds));
  });

  it('keeps labels above the legend strip (bounds height)', () => {
    const [l] = placeGraphLabels([node('4', 200, 280)], { w: 400, h: 290 });
    expect(l!.y + l!.h).toBeLessThanOrEqual(290);
  });
});
