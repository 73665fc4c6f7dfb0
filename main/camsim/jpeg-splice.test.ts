import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { splicedJpegEncoder, type DirtyRect } from './jpeg-splice';
import { actorRects, encodeRaw, framePainter, qualityFor, renderBackground, renderFrame } from './render';
import { createScene } from './scene';
import type { SimActor } from './types';

const scene = createScene({ seed: 7, cameras: 4, origin: 1_700_000_000_000 });

const decode = async (jpeg: Buffer): Promise<{ data: Buffer; width: number; height: number }> => {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};

/** The markers of a JPEG in file order, walking segments and then the entropy-coded data byte by byte. */
function markers(jpeg: Buffer): { marker: number; at: number; body?: Buffer }[] {
  const out: { marker: number; at: number; body?: Buffer }[] = [];
  expect(jpeg[0]).toBe(0xff);
  expect(jpeg[1]).toBe(0xd8);
  out.push({ marker: 0xd8, at: 0 });
  let i = 2;
  for (;;) {
    expect(jpeg[i]).toBe(0xff);
    const marker = jpeg[i + 1]!;
    const len = jpeg.readUInt16BE(i + 2);
    out.push({ marker, at: i, body: jpeg.subarray(i + 4, i + 2 + len) });
    i += 2 + len;
    if (marker === 0xda) break;
  }
  // Entropy-coded data: an 0xFF is either stuffed (0xFF00) or a marker (RSTn or EOI).
  for (; i < jpeg.length - 1; i++) {
    if (jpeg[i] !== 0xff) continue;
    const next = jpeg[i + 1]!;
    if (next === 0) {
      i++;
      continue;
    }
    out.push({ marker: next, at: i });
    i++;
  }
  return out;
}

/** A frame with one actor moved in view, and the regions each version drew. */
function scenario(width: number, height: number): { bg: Buffer; cam: (typeof scene.models)[number]; actors: SimActor[] } {
  for (const cam of scene.models) {
    for (let k = 0; k < 600; k += 10) {
      const actors = scene.snapshot(k);
      if (actorRects(cam, actors, width, height).length >= 6) return { bg: renderBackground(scene, cam, width, height), cam, actors };
    }
  }
  throw new Error('no camera sees actors in this scene');
}

describe('splicedJpegEncoder', () => {
  it('gives a frame that decodes (sharp) to within a small tolerance of a full libjpeg-turbo encode of the same pixels', async () => {
    const W = 640;
    const H = 360;
    const { bg, cam, actors } = scenario(W, H);
    const rgb = renderFrame(bg, cam, actors, W, H);
    const enc = splicedJpegEncoder(bg, W, H, qualityFor(30));
    const spliced = enc.encode(rgb, actorRects(cam, actors, W, H));
    expect(enc.last.rows).toBeGreaterThan(0);
    expect(enc.last.rows).toBeLessThan(enc.mcuRows);
    const a = await decode(spliced);
    const b = await decode(await encodeRaw(rgb, W, H, 30));
    expect([a.width, a.height]).toEqual([W, H]);
    let sum = 0;
    let sumSource = 0;
    const diffs: number[] = [];
    for (let i = 0; i < a.data.length; i++) {
      const d = Math.abs(a.data[i]! - b.data[i]!);
      sum += d;
      diffs.push(d);
      sumSource += Math.abs(a.data[i]! - rgb[i]!);
    }
    diffs.sort((x, y) => x - y);
    expect(sum / a.data.length).toBeLessThan(1.5);
    expect(diffs[Math.floor(diffs.length * 0.99)]).toBeLessThanOrEqual(8);
    // And it is a faithful picture of the source, not merely close to another lossy copy.
    expect(sumSource / a.data.length).toBeLessThan(4);
  });

  it('splices to the very bytes of encoding every MCU row again', () => {
    const W = 320;
    const H = 184; // not a multiple of 16: the last MCU row repeats the bottom line
    const { bg, cam } = scenario(W, H);
    const enc = splicedJpegEncoder(bg, W, H, 70);
    const painter = framePainter(bg, cam, W, H);
    let touchedFrames = 0;
    for (let k = 0; k < 300; k += 15) {
      const { rgb, rects } = painter.paint(scene.snapshot(k));
      const spliced = enc.encode(rgb, rects);
      if (enc.last.rows > 0 && enc.last.rows < enc.mcuRows) touchedFrames++;
      const whole = enc.encode(rgb, [{ xa: 0, xb: W, ya: 0, yb: H }]);
      expect(enc.last.rows).toBe(enc.mcuRows);
      expect(spliced.equals(whole)).toBe(true);
    }
    expect(touchedFrames).toBeGreaterThan(5);
  });

  it('writes a baseline JPEG with DRI of one MCU row, RST0..7 cycling between rows, and EOI last', () => {
    const W = 1280;
    const H = 720;
    const { bg, cam, actors } = scenario(W, H);
    const enc = splicedJpegEncoder(bg, W, H, 70);
    const jpeg = enc.encode(renderFrame(bg, cam, actors, W, H), actorRects(cam, actors, W, H));
    const ms = markers(jpeg);
    const sof = ms.find((m) => m.marker === 0xc0);
    expect(sof?.body?.readUInt16BE(1)).toBe(H);
    expect(sof?.body?.readUInt16BE(3)).toBe(W);
    expect(ms.some((m) => m.marker >= 0xc1 && m.marker <= 0xcf && m.marker !== 0xc4 && m.marker !== 0xc8 && m.marker !== 0xcc)).toBe(false);
    const dri = ms.find((m) => m.marker === 0xdd);
    expect(dri?.body?.readUInt16BE(0)).toBe(W / 16);
    const afterSos = ms.slice(ms.findIndex((m) => m.marker === 0xda) + 1);
    expect(afterSos.length).toBe(H / 16); // 44 RSTs, then EOI
    afterSos.slice(0, -1).forEach((m, i) => expect(m.marker).toBe(0xd0 + (i % 8)));
    expect(afterSos.at(-1)).toEqual({ marker: 0xd9, at: jpeg.length - 2 });
  });

  it('shows a moved actor where it now is, and leaves rows far from both places untouched', async () => {
    const W = 640;
    const H = 360;
    const { bg, cam, actors } = scenario(W, H);
    const enc = splicedJpegEncoder(bg, W, H, 70);
    const rectsA = actorRects(cam, actors, W, H);
    // Pick the nearest actor (largest box) and move it 3 m sideways.
    const big = actors
      .map((a) => ({ a, r: actorRects(cam, [a], W, H) }))
      .filter((x) => x.r.length)
      .sort((p, q) => (q.r[1]!.xb - q.r[1]!.xa) * (q.r[1]!.yb - q.r[1]!.ya) - (p.r[1]!.xb - p.r[1]!.xa) * (p.r[1]!.yb - p.r[1]!.ya))[0]!;
    const moved = actors.map((a) => (a === big.a ? { ...a, x: a.x + 3, y: a.y + 3 } : a));
    const rectsB = actorRects(cam, moved, W, H);
    const a = await decode(enc.encode(renderFrame(bg, cam, actors, W, H), rectsA));
    const b = await decode(enc.encode(renderFrame(bg, cam, moved, W, H), rectsB));
    const body = actorRects(cam, [moved.find((x) => x.id === big.a.id)!], W, H)[1]!; // the body, not its shadow
    const region = (img: Buffer, r: DirtyRect): number[] => {
      const px: number[] = [];
      for (let y = r.ya; y < r.yb; y++) for (let x = r.xa; x < r.xb; x++) px.push(img[(y * W + x) * 3]!, img[(y * W + x) * 3 + 1]!, img[(y * W + x) * 3 + 2]!);
      return px;
    };
    const before = region(a.data, body);
    const after = region(b.data, body);
    const changed = before.filter((v, i) => Math.abs(v - after[i]!) > 20).length;
    expect(changed / before.length).toBeGreaterThan(0.2);
    // Rows at least two MCU rows from any drawn region decode identically.
    const near = new Set<number>();
    for (const r of [...rectsA, ...rectsB]) for (let my = (r.ya >> 4) - 1; my <= ((r.yb - 1) >> 4) + 1; my++) near.add(my);
    let farRows = 0;
    for (let my = 0; my < enc.mcuRows; my++) {
      if (near.has(my)) continue;
      farRows++;
      const from = my * 16 * W * 3;
      const to = Math.min(H, (my + 1) * 16) * W * 3;
      expect(a.data.subarray(from, to).equals(b.data.subarray(from, to))).toBe(true);
    }
    expect(farRows).toBeGreaterThan(0);
  });

  it('encodes odd sizes and refuses a frame or background of the wrong size', async () => {
    const W = 100;
    const H = 50;
    const bg = Buffer.alloc(W * H * 3);
    for (let i = 0; i < bg.length; i++) bg[i] = (i * 7) % 251;
    const enc = splicedJpegEncoder(bg, W, H, 50);
    const d = await decode(enc.encode(bg, []));
    expect([d.width, d.height]).toEqual([W, H]);
    expect(() => enc.encode(Buffer.alloc(10), [])).toThrow(/not 100×50×3/);
    expect(() => splicedJpegEncoder(Buffer.alloc(10), W, H, 50)).toThrow(/not 100×50×3/);
  });
});
