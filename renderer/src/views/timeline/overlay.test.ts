import { describe, expect, it } from 'vitest';
import { LABEL_AREA, drawFuturesOnFeed, segmentStyle } from './overlay';

/** A recording stand-in for the 2-D context: only what drawFuturesOnFeed uses. */
function recorder() {
  const lines: { from: [number, number]; to: [number, number]; style: string; width: number }[] = [];
  const texts: { text: string; x: number; y: number }[] = [];
  const outlines: { text: string; x: number; y: number; style: string }[] = [];
  let from: [number, number] = [0, 0];
  let to: [number, number] = [0, 0];
  let saved = 0;
  const ctx = {
    strokeStyle: '',
    fillStyle: '',
    lineWidth: 1,
    lineCap: 'butt',
    lineJoin: 'miter',
    font: '',
    save: () => void saved++,
    restore: () => void saved--,
    beginPath: () => undefined,
    moveTo: (x: number, y: number) => void (from = [x, y]),
    lineTo: (x: number, y: number) => void (to = [x, y]),
    stroke() {
      lines.push({ from, to, style: ctx.strokeStyle, width: ctx.lineWidth });
    },
    fillText: (text: string, x: number, y: number) => void texts.push({ text, x, y }),
    strokeText: (text: string, x: number, y: number) => void outlines.push({ text, x, y, style: ctx.strokeStyle }),
  };
  return { ctx: ctx as unknown as CanvasRenderingContext2D, lines, texts, outlines, balanced: () => saved === 0 };
}

describe('drawFuturesOnFeed', () => {
  it('scales normalised points to the canvas, fades along the path and draws the likely future last and thickest', () => {
    const r = recorder();
    drawFuturesOnFeed(
      r.ctx,
      [
        { points: [[0.5, 0.5], [0.6, 0.5], [0.7, 0.5]], weight: 0.7 },
        { points: [[0.5, 0.5], [0.5, 0.6]], weight: 0.1 },
      ],
      640,
      360,
    );
    expect(r.balanced()).toBe(true);
    expect(r.lines).toHaveLength(3);
    // The improbable one first (underneath).
    expect(r.lines[0]).toMatchObject({ from: [320, 180], to: [320, 216] });
    expect(r.lines[1]).toMatchObject({ from: [320, 180], to: [384, 180] });
    expect(r.lines[2]).toMatchObject({ from: [384, 180], to: [448, 180] });
    const alpha = (s: string) => Number(/,\s*([\d.]+)\)$/.exec(s)![1]);
    expect(alpha(r.lines[2]!.style)).toBeLessThan(alpha(r.lines[1]!.style));
    expect(r.lines[1]!.width).toBeGreaterThan(r.lines[0]!.width);
    // Only the probable one is labelled, at its end.
    expect(r.texts).toEqual([{ text: '70%', x: 452, y: 176 }]);
  });

  it('keeps every segment visible and clamps weights outside 0..1', () => {
    expect(segmentStyle(2, 0, 4)).toEqual(segmentStyle(1, 0, 4));
    expect(segmentStyle(0, 3, 4).alpha).toBeGreaterThan(0);
  });
});

describe('future labels', () => {
  it('labels only the most likely future of each track, never two on one spot', () => {
    const texts: { text: string; x: number; y: number }[] = [];
    const ctx = new Proxy({ fillText: (text: string, x: number, y: number) => void texts.push({ text, x, y }) } as Record<string, unknown>, {
      get: (t, k) => (k in t ? t[k as string] : () => undefined),
      set: () => true,
    }) as unknown as CanvasRenderingContext2D;
    drawFuturesOnFeed(
      ctx,
      [
        { trackId: 'a', points: [[0.5, 0.5], [0.6, 0.5]], weight: 0.5 },
        { trackId: 'a', points: [[0.5, 0.5], [0.6, 0.51]], weight: 0.3 },
        { trackId: 'b', points: [[0.5, 0.5], [0.6, 0.5]], weight: 0.4 },
      ],
      640,
      360,
    );
    expect(texts.map((t) => t.text).sort()).toEqual(['40%', '50%']);
    expect(Math.abs(texts[0]!.x - texts[1]!.x) >= 30 || Math.abs(texts[0]!.y - texts[1]!.y) >= 12).toBe(true);
  });
});

describe('future labels on a bright scene', () => {
  it('outlines each percentage in a dark stroke under the amber text, at the same spot', () => {
    const r = recorder();
    drawFuturesOnFeed(r.ctx, [{ trackId: 'a', points: [[0.2, 0.2], [0.4, 0.3]], weight: 0.6 }], 640, 360);
    expect(r.texts).toHaveLength(1);
    expect(r.outlines).toEqual([{ ...r.texts[0]!, style: 'rgba(0, 0, 0, 0.75)' }]);
  });
});

describe('future labels on a small tile', () => {
  it('labels only the most probable futures, one per LABEL_AREA of feed, wherever they are', () => {
    const r = recorder();
    // 30 tracks spread over a 440×248 tile, weights 0.20 … 0.49.
    const paths = Array.from({ length: 30 }, (_, i) => ({ trackId: `t${i}`, points: [[(i % 6) / 6 + 0.05, Math.floor(i / 6) / 5 + 0.05], [(i % 6) / 6 + 0.1, Math.floor(i / 6) / 5 + 0.1]] as [number, number][], weight: 0.2 + i / 100 }));
    drawFuturesOnFeed(r.ctx, paths, 440, 248);
    const most = Math.floor((440 * 248) / LABEL_AREA);
    expect(r.texts).toHaveLength(most);
    expect(r.texts.map((t) => t.text).sort()).toEqual(['45%', '46%', '47%', '48%', '49%']);
    // A full-size feed has room for all of them.
    const big = recorder();
    drawFuturesOnFeed(big.ctx, paths, 1280, 720);
    expect(big.texts).toHaveLength(30);
  });
});

describe('future labels at the edge', () => {
  it('puts a percentage whose path ends at the right edge inside the feed, not half outside', () => {
    const r = recorder();
    drawFuturesOnFeed(r.ctx, [{ trackId: 'a', points: [[0.9, 0.5], [1, 0.5]], weight: 0.6 }], 440, 248);
    expect(r.texts).toHaveLength(1);
    expect(r.texts[0]!.x + 30).toBeLessThanOrEqual(440);
  });
});
