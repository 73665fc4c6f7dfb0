import type SharpModule from 'sharp';
import type { SimActor } from './types';
import { pointInPolygon, projectActorBox, type CameraModel, type SceneEngine } from './scene';

type RGB = [number, number, number];

const SKY_TOP: RGB = [118, 152, 190];
const SKY_HORIZON: RGB = [178, 196, 214];
const GRASS: RGB = [72, 104, 62];
const ASPHALT: RGB = [96, 97, 102];
const ROAD: RGB = [68, 69, 74];
const GRID: RGB = [128, 129, 134];
const ZONE_COLOURS: Record<string, RGB> = {
  entrance: [80, 170, 230],
  plaza: [220, 200, 90],
  restricted: [225, 60, 50],
  'loading-dock': [230, 140, 50],
  parking: [150, 110, 220],
};

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function distToSegment(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const vx = bx - ax;
  const vy = by - ay;
  const t = Math.max(0, Math.min(1, ((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy)));
  return Math.hypot(x - ax - t * vx, y - ay - t * vy);
}

/** The static part of a view (sky, ground, roads, grid, zones), computed once per camera and size by back-projecting each pixel through the homography. */
export function renderBackground(scene: SceneEngine, cam: CameraModel, width: number, height: number): Buffer {
  const out = Buffer.alloc(width * height * 3);
  const hinv = invert3(cam.homography);
  const MAX_OUTLINE = 2;
  const zones = scene.zones.map((z) => {
    const xs = z.polygon.map((p) => p[0]);
    const ys = z.polygon.map((p) => p[1]);
    return {
      z,
      colour: ZONE_COLOURS[z.id] ?? ([200, 200, 200] as RGB),
      x0: Math.min(...xs) - MAX_OUTLINE,
      x1: Math.max(...xs) + MAX_OUTLINE,
      y0: Math.min(...ys) - MAX_OUTLINE,
      y1: Math.max(...ys) + MAX_OUTLINE,
    };
  });
  const cx = cam.position.x;
  const cy = cam.position.y;
  for (let py = 0; py < height; py++) {
    const v = (py + 0.5) / height;
    const sky = mix(SKY_TOP, SKY_HORIZON, Math.min(1, v * 1.6));
    for (let px = 0; px < width; px++) {
      const u = (px + 0.5) / width;
      const gw = hinv[6]! * u + hinv[7]! * v + hinv[8]!;
      let colour: RGB;
      if (gw <= 1e-4) {
        colour = sky;
      } else {
        const x = (hinv[0]! * u + hinv[1]! * v + hinv[2]!) / gw;
        const y = (hinv[3]! * u + hinv[4]! * v + hinv[5]!) / gw;
        const dist = Math.sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
        if (dist > 400) {
          colour = SKY_HORIZON;
        } else {
          const inside = x >= 0 && x <= scene.width && y >= 0 && y <= scene.height;
          colour = inside ? ASPHALT : GRASS;
          if (inside) {
            if ((y >= 12 && y <= 16) || (y >= 42 && y <= 46 && x >= 60) || (x >= 72 && x <= 76)) colour = ROAD;
            // Grid lines every 10 m; their width grows with distance so they do not alias away.
            const lw = 0.06 + dist * 0.004;
            if (Math.abs(x - Math.round(x / 10) * 10) < lw || Math.abs(y - Math.round(y / 10) * 10) < lw) colour = GRID;
          }
          const outline = Math.min(MAX_OUTLINE, 0.25 + dist * 0.006);
          for (const zd of zones) {
            if (x < zd.x0 || x > zd.x1 || y < zd.y0 || y > zd.y1) continue;
            const poly = zd.z.polygon;
            let edge = Infinity;
            for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) edge = Math.min(edge, distToSegment(x, y, poly[j]![0], poly[j]![1], poly[i]![0], poly[i]![1]));
            if (edge < outline) colour = zd.colour;
            else if (pointInPolygon(x, y, poly)) colour = mix(colour, zd.colour, 0.22);
          }
          colour = mix(colour, SKY_HORIZON, Math.min(0.85, dist / 260));
        }
      }
      const o = (py * width + px) * 3;
      out[o] = colour[0];
      out[o + 1] = colour[1];
      out[o + 2] = colour[2];
    }
  }
  return out;
}

function actorColour(a: SimActor): RGB {
  let h = 2166136261;
  for (let i = 0; i < a.id.length; i++) h = Math.imul(h ^ a.id.charCodeAt(i), 16777619);
  const base: RGB = a.kind === 'Human' ? [200, 80, 60] : a.kind === 'Bike' ? [60, 180, 120] : a.kind === 'Truck' ? [220, 220, 210] : [60, 90, 200];
  const jitter = ((h >>> 0) % 80) - 40;
  return [clamp8(base[0] + jitter), clamp8(base[1] - jitter / 2), clamp8(base[2] + jitter / 3)];
}

const clamp8 = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

/** One filled rectangle in pixels (end-exclusive), clipped to the frame. */
export interface PixelRect {
  xa: number;
  xb: number;
  ya: number;
  yb: number;
  c: RGB;
}

function clipRect(width: number, height: number, x0: number, y0: number, x1: number, y1: number, c: RGB): PixelRect | undefined {
  const xa = Math.max(0, Math.floor(x0));
  const xb = Math.min(width, Math.ceil(x1));
  const ya = Math.max(0, Math.floor(y0));
  const yb = Math.min(height, Math.ceil(y1));
  return xa < xb && ya < yb ? { xa, xb, ya, yb, c } : undefined;
}

function fillRect(buf: Buffer, width: number, r: PixelRect): void {
  const [c0, c1, c2] = r.c;
  for (let y = r.ya; y < r.yb; y++) {
    let o = (y * width + r.xa) * 3;
    for (let x = r.xa; x < r.xb; x++) {
      buf[o++] = c0;
      buf[o++] = c1;
      buf[o++] = c2;
    }
  }
}

/** The shapes of the actors in view, farthest first, as rectangles in pixels (what a frame draws over the background). */
export function actorRects(cam: CameraModel, actors: readonly SimActor[], width: number, height: number): PixelRect[] {
  const drawn: { box: NonNullable<ReturnType<typeof projectActorBox>>; a: SimActor }[] = [];
  for (const a of actors) {
    const box = projectActorBox(cam, a);
    if (!box || box.right < 0 || box.left > 1 || box.bottom < 0 || box.top > 1) continue;
    drawn.push({ box, a });
  }
  drawn.sort((p, q) => q.box.depth - p.box.depth);
  const rects: PixelRect[] = [];
  const add = (x0: number, y0: number, x1: number, y1: number, c: RGB): void => {
    const r = clipRect(width, height, x0, y0, x1, y1, c);
    if (r) rects.push(r);
  };
  for (const { box, a } of drawn) {
    const c = actorColour(a);
    const x0 = box.left * width;
    const x1 = box.right * width;
    const y0 = box.top * height;
    const y1 = box.bottom * height;
    const h = y1 - y0;
    // A dark shadow under the object anchors it on the ground.
    add(x0 - 1, y1 - Math.max(1, h * 0.04), x1 + 1, y1 + Math.max(1, h * 0.03), [40, 40, 44]);
    if (a.kind === 'Human' || a.kind === 'Bike') {
      const w = x1 - x0;
      add(x0 + w * 0.15, y0 + h * 0.16, x1 - w * 0.15, y1 - h * 0.02, c);
      add(x0 + w * 0.3, y0, x1 - w * 0.3, y0 + h * 0.16, [226, 190, 160]);
    } else {
      add(x0, y0 + h * 0.3, x1, y1 - h * 0.02, c);
      add(x0 + (x1 - x0) * 0.08, y0, x1 - (x1 - x0) * 0.08, y0 + h * 0.32, [clamp8(c[0] * 0.55), clamp8(c[1] * 0.55), clamp8(c[2] * 0.6)]);
    }
  }
  return rects;
}

/** Draw the actors over a copy of the background, farthest first, as simple shaded shapes. */
export function renderFrame(background: Buffer, cam: CameraModel, actors: readonly SimActor[], width: number, height: number): Buffer {
  const buf = Buffer.from(background);
  for (const r of actorRects(cam, actors, width, height)) fillRect(buf, width, r);
  return buf;
}

const rectsKey = (rects: readonly PixelRect[]): string => rects.map((r) => `${r.xa},${r.xb},${r.ya},${r.yb},${r.c.join(',')}`).join(';');

/**
 * One stream's frame buffer. A frame is the background with the actors drawn over it; instead of
 * copying 2.7 MB of background per 1280×720 frame (and leaving the garbage collector a 2.7 MB
 * buffer per frame), the painter keeps one buffer and puts back only the background under last
 * frame's shapes. `key` names the drawn pixels exactly: two frames with the same key are the same
 * picture (a scene where nothing in view moved), so the caller may reuse the previous encoding.
 * The buffer is overwritten by the next paint: encode it before painting again.
 */
export interface FramePainter {
  /** `rects` are the regions drawn over the background (everywhere else `rgb` is the background). */
  paint(actors: readonly SimActor[]): { rgb: Buffer; key: string; rects: readonly PixelRect[] };
}

export function framePainter(background: Buffer, cam: CameraModel, width: number, height: number): FramePainter {
  if (background.length !== width * height * 3) throw new Error(`background is ${background.length} bytes, not ${width}×${height}×3`);
  const buf = Buffer.from(background);
  let drawn: PixelRect[] = [];
  return {
    paint(actors) {
      for (const r of drawn) {
        for (let y = r.ya; y < r.yb; y++) {
          const o = (y * width + r.xa) * 3;
          background.copy(buf, o, o, (y * width + r.xb) * 3);
        }
      }
      drawn = actorRects(cam, actors, width, height);
      for (const r of drawn) fillRect(buf, width, r);
      return { rgb: buf, key: rectsKey(drawn), rects: drawn };
    },
  };
}

/** Axis compression 0..100 (higher = smaller files) mapped onto libjpeg quality. */
export const qualityFor = (compression: number): number => Math.max(5, Math.min(100, Math.round(100 - compression)));

// sharp is loaded on first use, not at import: the main bundle reaches this file at start, and an
// install may carry sharp's binary for another architecture only (a mac/Windows build made for two).
let sharpModule: Promise<typeof SharpModule> | undefined;
const loadSharp = (): Promise<typeof SharpModule> => (sharpModule ??= import('sharp').then((m) => m.default));

/**
 * Encode raw RGB with libjpeg-turbo (sharp) and put the capture time in a COM segment right after SOI.
 * Standard Huffman tables, as a camera's hardware encoder uses: optimised tables save ~4% of the
 * bytes but double the encode time, which a 1080p stream at 30 fps cannot afford.
 */
export async function encodeJpeg(rgb: Buffer, width: number, height: number, compression: number, ts: number): Promise<Buffer> {
  return withTimestampComment(await encodeRaw(rgb, width, height, compression), ts);
}

/** The JPEG of raw RGB, without the timestamp segment (see encodeJpeg). */
export async function encodeRaw(rgb: Buffer, width: number, height: number, compression: number): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: qualityFor(compression), chromaSubsampling: '4:2:0', optimiseCoding: false }).toBuffer();
}

export function withTimestampComment(jpeg: Buffer, ts: number): Buffer {
  const text = Buffer.from(`omnisight-ts=${ts}`, 'ascii');
  const seg = Buffer.alloc(4);
  seg[0] = 0xff;
  seg[1] = 0xfe;
  seg.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, text, jpeg.subarray(2)]);
}
