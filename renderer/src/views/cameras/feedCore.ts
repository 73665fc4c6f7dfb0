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

// ---- boxes on their own frames: measuring it, and a short playout buffer ----

/** What happened to one frame that reached the page (for the box-share and detection-lag figures). */
interface LedgerFrame {
  ts: number;
  /** When the frame's JPEG reached the page (page clock, ms). */
  arrivedAt: number;
  painted: boolean;
  /** Its own detections' boxes were drawn on it (first paint or a repaint while it was shown). */
  boxed: boolean;
  /** Observations in its own detections (undefined: none reported yet). */
  obs?: number;
}

export interface LedgerStats {
  /** Painted frames whose camera reported detections with observations for their capture time. */
  paintedWithDetections: number;
  /** Of those, the frames painted with their own boxes. */
  paintedWithOwnBoxes: number;
  /** Detections' arrival minus their frame's arrival at the page (ms; negative: detections first). */
  lags: number[];
}

/**
 * A tile's recent frames and what became of them: was each painted, did its camera report
 * detections for it, were those boxes drawn on it. Frames leave the window after `capacity`
 * newer ones (seconds at 10 fps, far beyond the detection lags seen) and are counted then.
 */
export class FrameLedger {
  private readonly frames: LedgerFrame[] = [];
  /** Detections that came before their frame: capture ts → arrival. */
  private readonly early: { ts: number; at: number; obs: number }[] = [];
  private done = { withDet: 0, boxed: 0 };
  private lags: number[] = [];
  constructor(private readonly capacity = 100) {}

  /** A frame reached the page; returns the detection lag when its detections were already here. */
  frameArrived(ts: number, at: number, toleranceMs: number): number | undefined {
    const f: LedgerFrame = { ts, arrivedAt: at, painted: false, boxed: false };
    const i = this.early.findIndex((e) => Math.abs(e.ts - ts) <= toleranceMs);
    let lag: number | undefined;
    if (i >= 0) {
      const e = this.early.splice(i, 1)[0]!;
      f.obs = e.obs;
      this.lag((lag = e.at - at));
    }
    this.frames.push(f);
    if (this.frames.length > this.capacity) this.settle(this.frames.shift()!);
    return lag;
  }

  /** A frame's detections reached the page; returns their lag behind the frame when it came first. */
  detectionsArrived(ts: number, at: number, observations: number, toleranceMs: number): number | undefined {
    const f = this.find(ts, toleranceMs);
    if (f) {
      let lag: number | undefined;
      if (f.obs === undefined) this.lag((lag = at - f.arrivedAt));
      f.obs = observations;
      return lag;
    }
    // Older than every frame still kept: its frame is gone (or never came); nothing to pair.
    if (this.frames.length && ts < this.frames[0]!.ts) return undefined;
    this.early.push({ ts, at, obs: observations });
    if (this.early.length > 32) this.early.shift();
    return undefined;
  }

  /** The frame `ts` was painted, with its own boxes or without. */
  painted(ts: number, withOwnBoxes: boolean): void {
    const f = this.find(ts, 0);
    if (!f) return;
    f.painted = true;
    if (withOwnBoxes) f.boxed = true;
  }

  stats(): LedgerStats {
    let withDet = this.done.withDet;
    let boxed = this.done.boxed;
    for (const f of this.frames)
      if (f.painted && f.obs) {
        withDet++;
        if (f.boxed) boxed++;
      }
    return { paintedWithDetections: withDet, paintedWithOwnBoxes: boxed, lags: [...this.lags] };
  }

  reset(): void {
    this.frames.length = 0;
    this.early.length = 0;
    this.done = { withDet: 0, boxed: 0 };
    this.lags = [];
  }

  private lag(ms: number): void {
    this.lags.push(ms);
    if (this.lags.length > 10_000) this.lags.shift();
  }

  private settle(f: LedgerFrame): void {
    if (!f.painted || !f.obs) return;
    this.done.withDet++;
    if (f.boxed) this.done.boxed++;
  }

  private find(ts: number, toleranceMs: number): LedgerFrame | undefined {
    let best: LedgerFrame | undefined;
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      const gap = Math.abs(f.ts - ts);
      if (gap <= toleranceMs && (!best || gap < Math.abs(best.ts - ts))) best = f;
      if (f.ts < ts - toleranceMs) break;
    }
    return best;
  }
}

/**
 * The playout buffer's bound: a decoded frame waits at most this long after it reached the page
 * for its detections. Every millisecond of it is capture-to-paint latency (issue 17: p95 < 150 ms
 * at 640×360), so it is well under a frame period and the latency target.
 */
export const MAX_HOLD_MS = 80;
/** Detection lags looked at for the hold (the most recent ones: the load changes). */
const LAG_WINDOW = 50;
/** Fewer lags than this: no hold yet (nothing known about the camera's detections). */
const MIN_LAG_SAMPLES = 5;

/**
 * How long a camera's frames wait for their detections, from the lags it showed lately: long
 * enough for nine in ten detections (plus a little), never more than `maxMs`. When most
 * detections come later than `maxMs` anyway (a loaded machine: seconds), waiting would add
 * latency to every frame and buy almost no boxes, so it does not wait at all; those frames are
 * painted at once and repainted with their boxes if still shown when they come.
 */
export class HoldEstimate {
  private readonly lags: number[] = [];
  add(lagMs: number): void {
    this.lags.push(Math.max(0, lagMs));
    if (this.lags.length > LAG_WINDOW) this.lags.shift();
  }
  holdMs(maxMs = MAX_HOLD_MS): number {
    if (this.lags.length < MIN_LAG_SAMPLES || maxMs <= 0) return 0;
    const sorted = [...this.lags].sort((a, b) => a - b);
    const q90 = sorted[Math.min(sorted.length - 1, Math.floor(0.9 * sorted.length))]!;
    if (q90 + HOLD_MARGIN_MS <= maxMs) return q90 + HOLD_MARGIN_MS;
    const inTime = sorted.filter((l) => l <= maxMs).length / sorted.length;
    return inTime >= 0.5 ? maxMs : 0;
  }
}
const HOLD_MARGIN_MS = 10;

/**
 * Paint a decoded frame now, or hold it until `until` (page clock) for its detections. Never held:
 * with boxes off, for a camera that sends no detections, or when its detections are already here.
 */
export function playout(o: { now: number; arrivedAt: number; holdMs: number; boxesOn: boolean; sendsDetections: boolean; hasDetections: boolean }): { hold: false } | { hold: true; until: number } {
  if (!o.boxesOn || !o.sendsDetections || o.hasDetections || o.holdMs <= 0) return { hold: false };
  const until = o.arrivedAt + o.holdMs;
  return until > o.now ? { hold: true, until } : { hold: false };
}
