// The DOM-free part of the live feeds: the binary frame channel's messages (docs/protocol.md,
// "Camera frames to the renderer"), the per-camera buffer that pairs boxes with the very frame
// they belong to, the feed size each layout asks for, and a painted-fps meter.
import { z } from 'zod';

export const FRAME_HEADER_BYTES = 16;
export const KIND_JPEG = 1;
export const KIND_DETECTIONS = 2;

export type ChannelMessage =
  | { kind: 'jpeg'; channel: number; ts: number; width: number; height: number; jpeg: Uint8Array }
  | { kind: 'detections'; channel: number; ts: number; detections: FrameDetections };

const unit = z.number().min(0).max(1);
const detectionsSchema = z.object({
  observations: z
    .array(
      z.object({
        box: z.object({ left: unit, top: unit, right: unit, bottom: unit }),
        cls: z.string().max(32),
        score: unit,
        trackId: z.string().max(64),
      }),
    )
    .max(500),
  inferenceMs: z.number().nonnegative().nullable(),
  /** The report failed a trust check (permissive mode shows it): drawn marked, never as confirmed. */
  unverified: z.literal(true).optional(),
});
export type FrameDetections = z.infer<typeof detectionsSchema>;

/** One binary message in; undefined for anything malformed (counted by the caller, never thrown). */
export function parseChannelMessage(buf: ArrayBuffer): ChannelMessage | undefined {
  if (buf.byteLength < FRAME_HEADER_BYTES) return undefined;
  const v = new DataView(buf);
  if (v.getUint8(0) !== 1) return undefined;
  const kind = v.getUint8(1);
  const channel = v.getUint16(2);
  const ts = v.getFloat64(4);
  if (!Number.isFinite(ts)) return undefined;
  if (kind === KIND_JPEG) {
    const jpeg = new Uint8Array(buf, FRAME_HEADER_BYTES);
    // SOI marker first; anything else cannot decode.
    if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
    return { kind: 'jpeg', channel, ts, width: v.getUint16(12), height: v.getUint16(14), jpeg };
  }
  if (kind === KIND_DETECTIONS) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, FRAME_HEADER_BYTES)));
    } catch {
      return undefined;
    }
    const d = detectionsSchema.safeParse(json);
    return d.success ? { kind: 'detections', channel, ts, detections: d.data } : undefined;
  }
  return undefined;
}

/**
 * Detections of one camera keyed by the capture timestamp of their frame. Frames and detections
 * travel separately (MJPEG vs MQTT) and either may arrive first, so a short history is kept and a
 * frame looks up its own timestamp — never "the latest".
 */
export class DetectionBuffer {
  private readonly entries: { ts: number; d: FrameDetections }[] = [];
  constructor(private readonly capacity = 64) {}

  add(ts: number, d: FrameDetections): void {
    // Mostly in order: insert from the end.
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.ts > ts) i--;
    if (i > 0 && this.entries[i - 1]!.ts === ts) this.entries[i - 1] = { ts, d };
    else this.entries.splice(i, 0, { ts, d });
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /** The detections for frame `ts`: exact, or the nearest within `toleranceMs` (half a frame period). */
  match(ts: number, toleranceMs: number): { ts: number; d: FrameDetections } | undefined {
    let best: { ts: number; d: FrameDetections } | undefined;
    let bestGap = Infinity;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      const gap = Math.abs(e.ts - ts);
      if (gap < bestGap) {
        best = e;
        bestGap = gap;
      }
      if (e.ts < ts - toleranceMs) break;
    }
    return best && bestGap <= toleranceMs ? best : undefined;
  }

  get size(): number {
    return this.entries.length;
  }
}

export type Layout = 1 | 4 | 9 | 16;
export const LAYOUTS: readonly Layout[] = [1, 4, 9, 16];

export interface FeedSize {
  width: number;
  height: number;
  fps: number;
}

/**
 * What to ask the camera for: no more pixels than the tile shows (a 16-grid tile is about 320 px
 * wide on a desktop screen). "high" keeps 640×360 as the floor for grids (operators who zoom in, and
 * the feed benchmark); "full" asks for 1280×720 in every layout (large screens, the feed benchmark's
 * second case).
 */
export type FeedQuality = 'auto' | 'high' | 'full';
export function feedSizeFor(layout: Layout, focused: boolean, quality: FeedQuality = 'auto'): FeedSize {
  if (focused || layout === 1 || quality === 'full') return { width: 1280, height: 720, fps: 10 };
  const auto: Record<Exclude<Layout, 1>, FeedSize> = {
    4: { width: 640, height: 360, fps: 10 },
    9: { width: 480, height: 270, fps: 10 },
    16: { width: 320, height: 180, fps: 10 },
  };
  const s = auto[layout];
  return quality === 'high' && s.width < 640 ? { width: 640, height: 360, fps: s.fps } : s;
}

/** Frames painted per second over a sliding window. */
export class FpsMeter {
  private readonly times: number[] = [];
  constructor(private readonly windowMs = 2000) {}
  tick(t: number): void {
    this.times.push(t);
    this.trim(t);
  }
  fps(t: number): number {
    this.trim(t);
    return (this.times.length * 1000) / this.windowMs;
  }
  private trim(t: number): void {
    while (this.times.length && this.times[0]! <= t - this.windowMs) this.times.shift();
  }
}

export const clock = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** Pages of `layout` cameras; the page index is clamped to what exists. */
export function pageOf<T>(items: readonly T[], layout: Layout, page: number): { items: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(items.length / layout));
  const p = Math.min(Math.max(0, page), pages - 1);
  return { items: items.slice(p * layout, p * layout + layout), page: p, pages };
}

/**
 * Tiles are painted at most this often (all dirty tiles together). In a Chromium trace of 16
 * feeds (software compositing, as on this machine), each composited frame cost ~7 ms of CPU
 * whatever changed in it (viz redraws the page's quads, plus the renderer's commit and draw), and
 * frames arriving at 16 independent phases made one nearly every vsync. 30 Hz keeps every 10 fps
 * frame (the newest decoded frame of each tile is painted) and adds at most one period of latency.
 */
export const MIN_PAINT_INTERVAL_MS = 1000 / 30;
/** Half a 60 Hz vsync: the animation frame after the wait lands on the vsync nearest the interval. */
const VSYNC_SLACK_MS = 8;

/** How long to wait before asking for the next animation frame (≤ 0: ask now), given the last paint. */
export function paintDelay(now: number, lastPaint: number, interval = MIN_PAINT_INTERVAL_MS): number {
  return lastPaint + interval - VSYNC_SLACK_MS - now;
}
