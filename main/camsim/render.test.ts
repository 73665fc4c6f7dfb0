import { describe, expect, it } from 'vitest';
import { framePainter, renderBackground, renderFrame } from './render';
import { createScene } from './scene';

describe('framePainter', () => {
  const W = 320;
  const H = 180;
  const scene = createScene({ seed: 5, cameras: 4, origin: 1_700_000_000_000 });

  it('paints, frame after frame in one reused buffer, exactly the picture a fresh copy of the background would show', () => {
    for (const cam of scene.models) {
      const bg = renderBackground(scene, cam, W, H);
      const painter = framePainter(bg, cam, W, H);
      let changed = 0;
      let prev: Buffer | undefined;
      for (let k = 0; k < 90; k += 3) {
        const actors = scene.snapshot(k);
        const { rgb } = painter.paint(actors);
        const fresh = renderFrame(bg, cam, actors, W, H);
        expect(rgb.equals(fresh)).toBe(true);
        if (prev && !prev.equals(fresh)) changed++;
        prev = fresh;
      }
      // The check above only means something if actors moved in view (their old places were restored).
      if (cam === scene.models[0]) expect(changed).toBeGreaterThan(5);
    }
  });

  it('gives the same key exactly when the same pixels are drawn', () => {
    const cam = scene.models[0]!;
    const bg = renderBackground(scene, cam, W, H);
    const painter = framePainter(bg, cam, W, H);
    const actors = scene.snapshot(30);
    const a = painter.paint(actors);
    const aPixels = Buffer.from(a.rgb);
    const b = painter.paint(actors);
    expect(b.key).toBe(a.key);
    expect(b.rgb.equals(aPixels)).toBe(true);
    const moved = actors.map((x, i) => (i === 0 ? { ...x, x: x.x + 0.5 } : x));
    const inView = renderFrame(bg, cam, moved, W, H).equals(aPixels) === false;
    const c = painter.paint(moved);
    expect(c.key !== a.key).toBe(inView);
    expect(painter.paint([]).rgb.equals(bg)).toBe(true);
  });

  it('refuses a background of the wrong size', () => {
    expect(() => framePainter(Buffer.alloc(10), scene.models[0]!, W, H)).toThrow(/not 320×180×3/);
  });
});
