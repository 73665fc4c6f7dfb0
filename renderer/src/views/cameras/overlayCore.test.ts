import { describe, expect, it } from 'vitest';
import { boxLabelSpots, readOverlays } from './overlayCore';

describe('overlay switches', () => {
  it('keeps what is known and defaults the rest to on', () => {
    expect(readOverlays({ a: { boxes: false }, b: 'junk' })).toEqual({ a: { boxes: false, labels: true, futures: true } });
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
