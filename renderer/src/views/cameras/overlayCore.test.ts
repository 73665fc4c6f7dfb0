import { describe, expect, it } from 'vitest';
import { drawFuturesOnFeed } from '../timeline/overlay';
import { boxLabelSpots, invert3, projectZones, readOverlays } from './overlayCore';

describe('overlay switches', () => {
  it('keeps what is known and defaults the rest to on', () => {
    expect(readOverlays({ a: { boxes: false }, b: 'junk' })).toEqual({ a: { boxes: false, labels: true, futures: true, zones: false } });
    // Zones are off unless switched on, and a switched-on zones overlay is remembered.
    expect(readOverlays({ a: { zones: true } }).a!.zones).toBe(true);
    expect(readOverlays({ a: { zones: 'yes' } }).a!.zones).toBe(false);
    expect(readOverlays(null)).toEqual({});
  });
});

describe('boxLabelSpots', () => {
  it('puts labels of two overlapping boxes where they do not cover each other', () => {
    const spots = boxLabelSpots(
      [
        { x: 100, y: 100, w: 50, h: 100, tw: 80, th: 12, score: 0.9 },
        { x: 104, y: 102, w: 50, h: 100, tw: 80, th: 12, score: 0.6 },
      ],
      640,
      360,
    );
    const [a, b] = spots;
    expect(a && b).toBeTruthy();
    const overlap = Math.abs(a!.x - b!.x) < 80 && Math.abs(a!.y - b!.y) < 12;
    expect(overlap).toBe(false);
    // The more certain box keeps the top edge.
    expect(a!.y).toBeLessThan(100);
  });
  it('moves a label below its box at the top of the frame', () => {
    const [s] = boxLabelSpots([{ x: 10, y: 2, w: 50, h: 100, tw: 60, th: 12, score: 1 }], 640, 360);
    expect(s!.y).toBeGreaterThanOrEqual(2);
  });
});

describe('projectZones', () => {
  // A camera looking along +y over flat ground, horizon at v = 0.3: x = (u − 0.5)/(v − 0.3), y = 1/(v − 0.3).
  const h = [1, 0, -0.5, 0, 0, 1, 0, 1, -0.3];
  const toImage = (x: number, y: number): [number, number] => [0.5 + x / y, 0.3 + 1 / y];

  it('inverts a 3×3 matrix', () => {
    const inv = invert3(h)!;
    const prod = [0, 1, 2].map((r) => [0, 1, 2].map((c) => [0, 1, 2].reduce((s, k) => s + h[r * 3 + k]! * inv[k * 3 + c]!, 0)));
    prod.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(r === c ? 1 : 0, 12)));
    expect(invert3([1, 2, 3, 2, 4, 6, 0, 0, 1])).toBeUndefined();
  });

  it('maps a zone in front of the camera onto the image points that see it', () => {
    const square = [{ x: -1, y: 2 }, { x: 1, y: 2 }, { x: 1, y: 4 }, { x: -1, y: 4 }];
    const [z] = projectZones(h, [{ id: 'door', name: 'Door', kind: 'restricted', polygon: square }]);
    expect(z!.kind).toBe('restricted');
    z!.points.forEach((p, i) => {
      const want = toImage(square[i]!.x, square[i]!.y);
      expect(p[0]).toBeCloseTo(want[0], 9);
      expect(p[1]).toBeCloseTo(want[1], 9);
    });
    // The same answer whatever overall sign the calibration came with.
    const [neg] = projectZones(h.map((v) => -v), [{ id: 'door', name: 'Door', kind: 'restricted', polygon: square }]);
    expect(neg!.points).toEqual(z!.points);
  });

  it('cuts a zone at the horizon where it reaches behind the camera, never mirroring it', () => {
    const across = [{ x: -1, y: -5 }, { x: 1, y: -5 }, { x: 1, y: 3 }, { x: -1, y: 3 }];
    const [z] = projectZones(h, [{ id: 'long', name: 'Long', kind: 'site', polygon: across }]);
    expect(z).toBeDefined();
    // Every point is below the horizon (v > 0.3): the part behind the camera is gone, not folded up.
    for (const [, v] of z!.points) expect(v).toBeGreaterThan(0.3);
    // The near edge (y = 3) is kept exactly.
    expect(z!.points.some(([u, v]) => Math.abs(u - toImage(1, 3)[0]) < 1e-9 && Math.abs(v - toImage(1, 3)[1]) < 1e-9)).toBe(true);
    // A zone wholly behind the camera, or wholly outside the frame, is not drawn.
    expect(projectZones(h, [{ id: 'b', name: 'Behind', kind: 'site', polygon: [{ x: -1, y: -2 }, { x: 1, y: -2 }, { x: 0, y: -4 }] }])).toEqual([]);
    expect(projectZones(h, [{ id: 'o', name: 'Aside', kind: 'site', polygon: [{ x: 50, y: 2 }, { x: 60, y: 2 }, { x: 55, y: 4 }] }])).toEqual([]);
  });
});

describe('box labels and the futures\' percentages', () => {
  const hit = (a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  it('a box label keeps off a percentage already written where it would go ("Car 6827%")', () => {
    const pct = { x: 100, y: 88, w: 30, h: 12 };
    const box = { x: 100, y: 100, w: 50, h: 40, tw: 90, th: 14, score: 0.7 };
    const [free] = boxLabelSpots([box], 640, 360);
    expect(hit({ ...free!, w: 90, h: 14 }, pct)).toBe(true); // where it went before
    const [moved] = boxLabelSpots([box], 640, 360, [pct]);
    expect(moved).toBeDefined();
    expect(hit({ ...moved!, w: 90, h: 14 }, pct)).toBe(false);
  });
  it('drawFuturesOnFeed returns the percentages it wrote, and box labels placed against them never cover one', () => {
    const ctx = { save() {}, restore() {}, beginPath() {}, moveTo() {}, lineTo() {}, stroke() {}, fillText() {}, strokeText() {} } as unknown as CanvasRenderingContext2D;
    // Futures ending on the top edges of the boxes whose labels want that spot.
    const paths = [0, 1, 2].map((i) => ({ points: [[0.1 + i * 0.2, 0.5], [0.16 + i * 0.2, 0.28]] as [number, number][], weight: 0.4 + i * 0.1, trackId: String(i) }));
    const written = drawFuturesOnFeed(ctx, paths, 640, 360);
    expect(written.length).toBe(3);
    const boxes = [0, 1, 2].map((i) => ({ x: (0.16 + i * 0.2) * 640 - 10, y: 0.28 * 360 + 4, w: 60, h: 80, tw: 100, th: 14, score: 0.9 - i * 0.1 }));
    const spots = boxLabelSpots(boxes, 640, 360, written);
    spots.forEach((s, i) => {
      if (!s) return;
      for (const w of written) expect(hit({ x: s.x, y: s.y, w: boxes[i]!.tw, h: boxes[i]!.th }, w)).toBe(false);
    });
    expect(spots.filter(Boolean).length).toBeGreaterThan(0);
  });
});
