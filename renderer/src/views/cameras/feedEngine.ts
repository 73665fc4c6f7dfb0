// Live feeds without React in the loop: one engine per view owns the channels (fleet.watch /
// fleet.unwatch on the shared socket), decodes JPEGs (WebCodecs ImageDecoder), keeps a short
// detection buffer per camera, and paints every dirty tile in ONE requestAnimationFrame loop, at
// most 30 times a second (see MIN_PAINT_INTERVAL_MS).
// React only tells it which canvases exist, what size they show and whether they are on screen.
import type { CameraId } from '../../../../preload/contract';
import type { Transport } from '../../transport';
import { drawFuturesOnFeed, type FeedPath } from '../timeline/overlay';
import { DetectionBuffer, FpsMeter, FrameLedger, HoldEstimate, MAX_HOLD_MS, paintDelay, playout, parseChannelMessage, type FeedSize, type FrameDetections } from './feedCore';
import { boxLabelSpots, DEFAULT_OVERLAY, projectZones, type GroundZone, type ImageZone, type Overlay } from './overlayCore';

interface Tile {
  cameraId: CameraId;
  canvas: HTMLCanvasElement;
  /** Where the engine writes "9.8 fps" once a second (outside React state). */
  fpsLabel?: HTMLElement;
  visible: boolean;
  size: FeedSize;
  /** Channel currently carrying this camera's frames, and the size it was asked for. */
  channel?: number;
  channelSize?: string;
  bitmap?: DecodedFrame;
  bitmapTs: number;
  /** Decodes in flight. */
  decoding: number;
  pending?: { ts: number; jpeg: Uint8Array; width: number; height: number; arrivedAt: number };
  /**
   * Decoded frames waiting (briefly, see playout in feedCore) for their detections, oldest first,
   * so that boxes are drawn on the frame they belong to rather than on a later one.
   */
  held: { bmp: DecodedFrame; ts: number; timer: ReturnType<typeof setTimeout> }[];
  hold: HoldEstimate;
  /** When this camera's detections last reached the page (page clock): none lately, no hold. */
  lastDetectionsAt: number;
  dirty: boolean;
  meter: FpsMeter;
  painted: number;
  /** JPEG frames that reached this page for the tile (painted ≤ received: the rest were superseded). */
  received: number;
  boxesDrawn: number;
  paintedTs: number[];
  latencies: number[];
  halfPeriodMs: number;
  /** Which painted frames carried their own boxes, and how late detections come (see TileStats). */
  ledger: FrameLedger;
  /** Zones and futures drawn once into their own layer, redrawn only when they change (see paint). */
  layer?: { canvas: HTMLCanvasElement; key: readonly unknown[]; texts: readonly LabelBox[] };
}

type LabelBox = { x: number; y: number; w: number; h: number };
const NO_TEXT: readonly LabelBox[] = [];

export interface TileStats {
  cameraId: CameraId;
  painted: number;
  received: number;
  fps: number;
  boxesDrawn: number;
  /** Capture timestamps of the last frames painted (newest last). */
  recentTs: number[];
  /** Capture-to-paint latencies (ms) since the last reset. */
  latencies: number[];
  channel: number | undefined;
  size: string | undefined;
  /** Painted frames whose camera reported detections with observations for their capture time (since the last reset). */
  paintedWithDetections: number;
  /** Of those, the frames painted with their own boxes (on the first paint or a repaint while shown). */
  paintedWithOwnBoxes: number;
  /** Detections' arrival at the page minus their frame's arrival (ms, negative: detections first). */
  detectionLags: number[];
}

/** A decoded frame: a VideoFrame from WebCodecs' ImageDecoder where there is one, else an ImageBitmap. */
type DecodedFrame = ImageBitmap | VideoFrame;
const frameSize = (f: DecodedFrame): { width: number; height: number } => ('displayWidth' in f ? { width: f.displayWidth, height: f.displayHeight } : { width: f.width, height: f.height });

/**
 * createImageBitmap(new Blob([jpeg])) registers every frame as a Blob with the browser process and
 * reads it back to decode it: in a profile of 16 × 1280×720 feeds the Blob constructor alone was
 * 14 % of the page's main thread (about 3 ms per frame). WebCodecs' ImageDecoder takes the bytes
 * directly; asked for the size the tile shows (its CSS box × devicePixelRatio, never more than the
 * frame), it decodes no more pixels than reach the screen — drawing its full-size output instead
 * cost more than the Blob (profiled). The Blob path stays for a browser without ImageDecoder.
 */
const hasImageDecoder = typeof ImageDecoder !== 'undefined';
async function decodeJpeg(jpeg: Uint8Array, shown: { width: number; height: number } | undefined): Promise<DecodedFrame> {
  if (!hasImageDecoder) return createImageBitmap(new Blob([jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
  const decoder = new ImageDecoder({ data: jpeg as Uint8Array<ArrayBuffer>, type: 'image/jpeg', ...(shown ? { desiredWidth: shown.width, desiredHeight: shown.height } : {}) });
  try {
    return (await decoder.decode()).image;
  } finally {
    decoder.close();
  }
}

/** The frame's on-screen size in device pixels (the canvas is object-fit: contain in its box), within the frame's size; undefined without layout. */
export function shownSize(c: HTMLCanvasElement, frame: { width: number; height: number }): { width: number; height: number } | undefined {
  const dpr = globalThis.devicePixelRatio || 1;
  const scale = Math.min((c.clientWidth * dpr) / frame.width, (c.clientHeight * dpr) / frame.height);
  if (!(scale > 0) || scale >= 1) return undefined;
  return { width: Math.max(1, Math.round(frame.width * scale)), height: Math.max(1, Math.round(frame.height * scale)) };
}

const COLORS: Record<string, string> = { Human: '#4ade80', Car: '#60a5fa', Truck: '#a78bfa', Bus: '#f472b6', Bike: '#facc15', Animal: '#fb923c', Other: '#e5e7eb' };
const MAX_DECODES_PER_TILE = 3;
const NONE: readonly never[] = [];
const sizeKey = (s: FeedSize): string => `${s.width}x${s.height}@${s.fps}`;

export class FeedEngine {
  private readonly tiles = new Map<string, Tile>();
  private readonly byChannel = new Map<number, Tile>();
  private readonly detections = new Map<string, DetectionBuffer>();
  /** What is drawn over each camera's feed (switched per camera in the Cameras view). */
  private readonly overlays = new Map<string, Overlay>();
  private readonly offs: (() => void)[] = [];
  private raf = 0;
  /** Waiting out the paint interval before asking for an animation frame (see paintDelay). */
  private paintTimer: ReturnType<typeof setTimeout> | undefined;
  private lastPaint = -Infinity;
  private reconcileTimer: ReturnType<typeof setTimeout> | undefined;
  private labelTimer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private again = false;
  private closed = false;
  /** The playout buffer's bound (feedCore MAX_HOLD_MS); 0 turns it off (the feed benchmark's before/after). */
  maxHoldMs = MAX_HOLD_MS;
  /** Malformed binary messages (bad header, not a JPEG, invalid detections). */
  badMessages = 0;
  /** Each visible camera's tracks' probable futures in image coordinates, refreshed twice a second. */
  private readonly futures = new Map<string, FeedPath[]>();
  private readonly futuresTimer: ReturnType<typeof setInterval>;
  private futuresBusy = false;
  /** Zones in each camera's image, for cameras whose zones overlay is on (refreshed every few seconds). */
  private readonly zones = new Map<string, ImageZone[]>();
  private readonly zonesTimer: ReturnType<typeof setInterval>;
  private zonesBusy = false;

  constructor(private readonly t: Transport) {
    if (t.onBinary) this.offs.push(t.onBinary((buf) => this.onMessage(buf)));
    // Channels belong to a socket: after a reconnect every feed must be asked for again.
    let wasOpen = t.state().status === 'open';
    this.offs.push(
      t.onState((s) => {
        const open = s.status === 'open';
        if (open && !wasOpen) {
          this.byChannel.clear();
          for (const tile of this.tiles.values()) tile.channel = tile.channelSize = undefined;
          this.scheduleReconcile();
        }
        wasOpen = open;
      }),
    );
    this.labelTimer = setInterval(() => this.updateLabels(), 1000);
    this.futuresTimer = setInterval(() => void this.refreshFutures(), 500);
    // Zones and calibrations change when someone edits them, not per frame.
    this.zonesTimer = setInterval(() => void this.refreshZones(), 5000);
  }

  /** Site and restricted zones projected through each calibrated camera whose zones overlay is on. */
  private async refreshZones(): Promise<void> {
    const want = [...this.tiles.values()].filter((t) => t.visible && this.overlays.get(t.cameraId)?.zones);
    if (!want.length || this.zonesBusy) return;
    this.zonesBusy = true;
    try {
      const [site, restricted] = await Promise.all([
        this.t.call('swarm.zones', {}).catch(() => ({ zones: [] })),
        this.t.call('timeline.zones', {}).catch(() => []),
      ]);
      const ground: GroundZone[] = [
        ...site.zones.map((z) => ({ id: z.id, name: z.name, kind: 'site' as const, polygon: z.polygon })),
        ...restricted.map((z) => ({ id: z.id, name: z.name, kind: 'restricted' as const, polygon: z.polygon })),
      ];
      await Promise.all(
        want.map(async (tile) => {
          try {
            const c = await this.t.call('timeline.calibration', { cameraId: tile.cameraId });
            this.zones.set(tile.cameraId, c.homography ? projectZones(c.homography, ground) : []);
          } catch {
            this.zones.set(tile.cameraId, []); // no timeline: nothing to project through
          }
          this.markDirty(tile);
        }),
      );
    } finally {
      this.zonesBusy = false;
    }
  }

  /**
   * Futures drawn on the feeds as fading paths (from the timeline's tracks, through each camera's
   * calibration): ONE call for all the tiles on screen per refresh (16 tiles used to be 16 calls
   * every 500 ms), skipped while the previous one is still out. The timer calls it; tests may too.
   */
  async refreshFutures(): Promise<void> {
    if (this.futuresBusy || this.closed) return;
    // Only tiles on screen, showing a frame, whose futures overlay is on (none set: the default).
    // Not before the first frame: asking for a tile still waiting for its feed made the cameras
    // e2e's boxes on a just-added camera fail 3 runs in 4 on a loaded machine (0 in 7 with it).
    const ids = [...this.tiles.values()].filter((t) => t.visible && t.bitmap && (this.overlays.get(t.cameraId) ?? DEFAULT_OVERLAY).futures).map((t) => t.cameraId);
    if (!ids.length) return;
    this.futuresBusy = true;
    try {
      const r = await this.t.call('timeline.futuresForCameras', { cameraIds: ids });
      const got = new Map(r.cameras.map((c) => [c.cameraId as string, c]));
      for (const id of ids) {
        const c = got.get(id);
        if (c?.calibrated) this.futures.set(id, c.paths);
        else this.futures.delete(id); // not calibrated: boxes only
      }
    } catch {
      for (const id of ids) this.futures.delete(id); // no timeline: boxes only
    } finally {
      this.futuresBusy = false;
    }
  }

  /** Whether frames can reach this renderer (the socket in browser mode, the frame port in the app). */
  get supported(): boolean {
    return !!this.t.onBinary;
  }

  attach(cameraId: CameraId, canvas: HTMLCanvasElement, size: FeedSize, fpsLabel?: HTMLElement): void {
    const prev = this.tiles.get(cameraId);
    if (prev) {
      prev.canvas = canvas;
      prev.fpsLabel = fpsLabel;
      prev.size = size;
      prev.dirty = true;
    } else {
      this.tiles.set(cameraId, {
        cameraId,
        canvas,
        fpsLabel,
        visible: false,
        size,
        bitmapTs: 0,
        decoding: 0,
        dirty: false,
        meter: new FpsMeter(),
        painted: 0,
        received: 0,
        boxesDrawn: 0,
        paintedTs: [],
        latencies: [],
        halfPeriodMs: 50,
        ledger: new FrameLedger(),
        held: [],
        hold: new HoldEstimate(),
        lastDetectionsAt: -Infinity,
      });
    }
    this.scheduleReconcile();
  }

  detach(cameraId: CameraId, canvas: HTMLCanvasElement): void {
    const tile = this.tiles.get(cameraId);
    if (!tile || tile.canvas !== canvas) return; // a newer tile for the same camera took over
    tile.visible = false;
    // A full-size bitmap is megabytes of memory: let it go with its tile.
    tile.bitmap?.close();
    tile.bitmap = undefined;
    tile.bitmapTs = 0;
    dropHeld(tile);
    tile.layer = undefined;
    this.scheduleReconcile();
  }

  setVisible(cameraId: CameraId, visible: boolean): void {
    const tile = this.tiles.get(cameraId);
    if (!tile || tile.visible === visible) return;
    tile.visible = visible;
    this.scheduleReconcile();
  }

  /** What to draw over a camera's frames; the next paint uses it. */
  setOverlay(cameraId: CameraId, overlay: Overlay): void {
    const was = this.overlays.get(cameraId);
    this.overlays.set(cameraId, overlay);
    if (overlay.zones && !was?.zones) void this.refreshZones();
    const tile = this.tiles.get(cameraId);
    if (tile) tile.dirty = true;
  }

  /** Camera frame period from its heartbeat, for the half-period matching tolerance. */
  setCameraFps(cameraId: CameraId, fps: number | null): void {
    const tile = this.tiles.get(cameraId);
    if (tile && fps && fps > 0) tile.halfPeriodMs = 500 / fps;
  }

  stats(): TileStats[] {
    const now = performance.now();
    return [...this.tiles.values()].map((t) => {
      const l = t.ledger.stats();
      return {
        cameraId: t.cameraId,
        painted: t.painted,
        received: t.received,
        fps: t.meter.fps(now),
        boxesDrawn: t.boxesDrawn,
        recentTs: [...t.paintedTs],
        latencies: [...t.latencies],
        channel: t.channel,
        size: t.channelSize,
        paintedWithDetections: l.paintedWithDetections,
        paintedWithOwnBoxes: l.paintedWithOwnBoxes,
        detectionLags: l.lags,
      };
    });
  }

  resetStats(): void {
    for (const t of this.tiles.values()) {
      t.painted = 0;
      t.received = 0;
      t.boxesDrawn = 0;
      t.latencies = [];
      t.ledger.reset();
    }
  }

  close(): void {
    this.closed = true;
    if (this.raf) cancelAnimationFrame(this.raf);
    clearTimeout(this.paintTimer);
    clearTimeout(this.reconcileTimer);
    clearInterval(this.labelTimer);
    clearInterval(this.futuresTimer);
    clearInterval(this.zonesTimer);
    for (const off of this.offs) off();
    const channels = [...this.byChannel.keys()];
    if (channels.length) this.t.call('fleet.unwatch', { channels }).catch(() => undefined);
    for (const t of this.tiles.values()) {
      t.bitmap?.close();
      dropHeld(t);
    }
    this.tiles.clear();
    this.byChannel.clear();
  }

  // ---- channels ----

  private scheduleReconcile(): void {
    if (this.closed) return;
    clearTimeout(this.reconcileTimer);
    // Batch the burst of attach/visibility changes a layout switch causes into one watch per size.
    this.reconcileTimer = setTimeout(() => void this.reconcile(), 30);
  }

  private async reconcile(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      if (!this.supported || this.t.state().status !== 'open') return;
      const stop: number[] = [];
      const start = new Map<string, Tile[]>();
      for (const tile of this.tiles.values()) {
        const want = tile.visible ? sizeKey(tile.size) : undefined;
        if (tile.channelSize === want) continue;
        if (tile.channel !== undefined) {
          stop.push(tile.channel);
          this.byChannel.delete(tile.channel);
          tile.channel = tile.channelSize = undefined;
        }
        if (want) start.set(want, [...(start.get(want) ?? []), tile]);
      }
      if (stop.length) await this.t.call('fleet.unwatch', { channels: stop }).catch(() => undefined);
      for (const tiles of start.values()) {
        const size = tiles[0]!.size;
        try {
          const r = await this.t.call('fleet.watch', { cameraIds: tiles.map((x) => x.cameraId), width: size.width, height: size.height, fps: size.fps });
          for (const { cameraId, channel } of r.channels) {
            const tile = this.tiles.get(cameraId);
            if (!tile || this.closed) continue;
            tile.channel = channel;
            tile.channelSize = sizeKey(size);
            this.byChannel.set(channel, tile);
          }
        } catch {
          // A camera removed meanwhile, or the socket dropped: the next change or reconnect retries.
        }
      }
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        void this.reconcile();
      }
    }
  }

  // ---- frames and detections ----

  private onMessage(buf: ArrayBuffer): void {
    const m = parseChannelMessage(buf);
    if (!m) {
      this.badMessages++;
      return;
    }
    const tile = this.byChannel.get(m.channel);
    if (!tile) return; // a channel just unwatched
    if (m.kind === 'detections') {
      let b = this.detections.get(tile.cameraId);
      if (!b) this.detections.set(tile.cameraId, (b = new DetectionBuffer()));
      b.add(m.ts, m.detections);
      const now = performance.now();
      tile.lastDetectionsAt = now;
      const lag = tile.ledger.detectionsArrived(m.ts, now, m.detections.observations.length, tile.halfPeriodMs);
      if (lag !== undefined) tile.hold.add(lag);
      // A frame held for these detections: paint it now, with them.
      const waiting = tile.held.find((h) => Math.abs(h.ts - m.ts) <= tile.halfPeriodMs);
      if (waiting) return this.release(tile, waiting.ts);
      // Boxes that arrive after their frame was painted: repaint that frame with them.
      if (Math.abs(m.ts - tile.bitmapTs) <= tile.halfPeriodMs) this.markDirty(tile);
      return;
    }
    tile.received++;
    const arrivedAt = performance.now();
    const lag = tile.ledger.frameArrived(m.ts, arrivedAt, tile.halfPeriodMs);
    if (lag !== undefined) tile.hold.add(lag);
    if (m.ts <= tile.bitmapTs) return; // older than what is shown
    tile.pending = { ts: m.ts, jpeg: m.jpeg, width: m.width, height: m.height, arrivedAt }; // a newer frame replaces one still waiting: drop, never queue
    this.decode(tile);
  }

  /**
   * Decodes run off the main thread; their latency (queueing on a busy machine) is much longer
   * than their cost, so a few per tile may be in flight at once. Whichever finishes, only a frame
   * newer than the one shown replaces it; frames beyond that wait as one pending (newest wins).
   */
  private decode(tile: Tile): void {
    while (tile.pending && tile.decoding < MAX_DECODES_PER_TILE && !this.closed) {
      const { ts, jpeg, width, height, arrivedAt } = tile.pending;
      tile.pending = undefined;
      tile.decoding++;
      decodeJpeg(jpeg, shownSize(tile.canvas, { width, height }))
        .then((bmp) => {
          if (ts > tile.bitmapTs && !this.closed) this.present(tile, bmp, ts, arrivedAt);
          else bmp.close(); // a newer frame finished first
        })
        .catch(() => {
          this.badMessages++; // a truncated JPEG that slipped through: skip it
        })
        .finally(() => {
          tile.decoding--;
          this.decode(tile);
        });
    }
  }

  /** A decoded frame: shown now, or held until its detections come or its deadline passes. */
  private present(tile: Tile, bmp: DecodedFrame, ts: number, arrivedAt: number): void {
    const now = performance.now();
    const p = playout({
      now,
      arrivedAt,
      holdMs: tile.hold.holdMs(this.maxHoldMs),
      boxesOn: (this.overlays.get(tile.cameraId) ?? DEFAULT_OVERLAY).boxes,
      // Detections within the last few seconds: a camera that sends none is never waited for.
      sendsDetections: now - tile.lastDetectionsAt < 3000,
      hasDetections: !!this.detections.get(tile.cameraId)?.match(ts, tile.halfPeriodMs),
    });
    if (!p.hold) return this.show(tile, bmp, ts);
    const timer = setTimeout(() => this.release(tile, ts), p.until - now);
    tile.held.push({ bmp, ts, timer });
    tile.held.sort((a, b) => a.ts - b.ts);
  }

  /** Show held frame `ts` (its detections came, or its deadline passed); older held frames are superseded. */
  private release(tile: Tile, ts: number): void {
    const i = tile.held.findIndex((h) => h.ts === ts);
    if (i < 0) return;
    const older = tile.held.splice(0, i + 1);
    const h = older.pop()!;
    for (const o of older) {
      clearTimeout(o.timer);
      o.bmp.close();
    }
    clearTimeout(h.timer);
    if (this.closed) return h.bmp.close();
    this.show(tile, h.bmp, h.ts);
  }

  private show(tile: Tile, bmp: DecodedFrame, ts: number): void {
    if (ts <= tile.bitmapTs) return bmp.close();
    tile.bitmap?.close();
    tile.bitmap = bmp;
    tile.bitmapTs = ts;
    this.markDirty(tile);
  }

  private markDirty(tile: Tile): void {
    tile.dirty = true;
    if (this.raf || this.paintTimer !== undefined || this.closed) return;
    const wait = paintDelay(performance.now(), this.lastPaint);
    if (wait <= 0) this.raf = requestAnimationFrame(() => this.paint());
    else
      this.paintTimer = setTimeout(() => {
        this.paintTimer = undefined;
        if (!this.closed) this.raf = requestAnimationFrame(() => this.paint());
      }, wait);
  }

  private paint(): void {
    this.raf = 0;
    this.lastPaint = performance.now();
    const paintedAt = performance.timeOrigin + performance.now();
    for (const tile of this.tiles.values()) {
      if (!tile.dirty || !tile.bitmap) continue;
      tile.dirty = false;
      const c = tile.canvas;
      const bmp = tile.bitmap;
      const size = frameSize(bmp);
      if (c.width !== size.width || c.height !== size.height) {
        c.width = size.width;
        c.height = size.height;
      }
      const ctx = c.getContext('2d');
      if (!ctx) continue;
      ctx.drawImage(bmp, 0, 0);
      const hit = this.detections.get(tile.cameraId)?.match(tile.bitmapTs, tile.halfPeriodMs);
      const ov = this.overlays.get(tile.cameraId) ?? DEFAULT_OVERLAY;
      // NONE (one shared empty list) keeps the layer's key equal from frame to frame.
      const zones: readonly ImageZone[] = ov.zones ? (this.zones.get(tile.cameraId) ?? NONE) : NONE;
      const paths: readonly FeedPath[] = ov.futures ? (this.futures.get(tile.cameraId) ?? NONE) : NONE;
      let texts = NO_TEXT;
      if (zones.length || paths.length) {
        const layer = overlayLayer(tile, zones, paths, c.width, c.height, ov.labels);
        ctx.drawImage(layer.canvas, 0, 0);
        texts = layer.texts;
      }
      if (hit && ov.boxes) {
        drawBoxes(ctx, c.width, c.height, hit.d, ov.labels, texts);
        tile.boxesDrawn += hit.d.observations.length;
      }
      // A repaint of the same frame (its boxes came late) is not a new frame.
      if (tile.paintedTs[tile.paintedTs.length - 1] !== tile.bitmapTs) {
        tile.painted++;
        tile.meter.tick(performance.now());
        tile.paintedTs.push(tile.bitmapTs);
        if (tile.paintedTs.length > 20) tile.paintedTs.shift();
        tile.latencies.push(paintedAt - tile.bitmapTs);
        if (tile.latencies.length > 10_000) tile.latencies.shift();
      }
      tile.ledger.painted(tile.bitmapTs, !!hit && ov.boxes && hit.d.observations.length > 0);
      c.dataset.ts = String(tile.bitmapTs);
      c.dataset.boxes = String(hit && ov.boxes ? hit.d.observations.length : 0);
      c.dataset.zones = String(zones.length);
      c.dataset.unverified = hit?.d.unverified ? 'true' : 'false';
    }
  }

  private updateLabels(): void {
    const now = performance.now();
    for (const t of this.tiles.values()) if (t.fpsLabel) t.fpsLabel.textContent = `${t.meter.fps(now).toFixed(1)} fps`;
  }
}

function dropHeld(tile: Tile): void {
  for (const h of tile.held) {
    clearTimeout(h.timer);
    h.bmp.close();
  }
  tile.held = [];
}

/** `avoid`: the layer's text (futures' percentages) that box labels must not print over. */
function drawBoxes(ctx: CanvasRenderingContext2D, w: number, h: number, d: FrameDetections, labels = true, avoid: readonly LabelBox[] = NO_TEXT): void {
  const line = Math.max(1, Math.round(w / 320));
  const font = Math.max(10, Math.round(w / 64));
  ctx.lineWidth = line * 1.5;
  ctx.font = `600 ${font}px system-ui, sans-serif`;
  ctx.textBaseline = 'bottom';
  const texts = d.observations.map((o) => `${d.unverified ? 'unverified · ' : ''}${o.cls} ${Math.round(o.score * 100)}% #${o.trackId}`);
  const boxes = d.observations.map((o, i) => ({
    x: o.box.left * w,
    y: o.box.top * h,
    w: (o.box.right - o.box.left) * w,
    h: (o.box.bottom - o.box.top) * h,
    tw: labels ? ctx.measureText(texts[i]!).width + 6 : 0,
    th: font + 2,
    score: o.score,
  }));
  // Labels that would print over each other move aside, or are left out (the box stays).
  const spots = labels ? boxLabelSpots(boxes, w, h, avoid) : [];
  d.observations.forEach((o, i) => {
    const b = boxes[i]!;
    const color = COLORS[o.cls] ?? COLORS.Other!;
    ctx.strokeStyle = color;
    // Unverified boxes (permissive mode): dashed and labelled, so they never pass for verified ones.
    ctx.setLineDash(d.unverified ? [line * 4, line * 3] : []);
    ctx.strokeRect(b.x, b.y, b.w, b.h);
    ctx.setLineDash([]);
    const at = spots[i];
    if (!at) return;
    ctx.fillStyle = color;
    ctx.fillRect(at.x, at.y, b.tw, b.th);
    ctx.fillStyle = '#000';
    ctx.fillText(texts[i]!, at.x + 3, at.y + b.th - 1);
  });
}

/**
 * Zones and futures change a few times a second at most (futures are fetched every 500 ms) while
 * frames are painted 10 times a second per tile: drawing every future's fading segments on every
 * frame was a fifth of the page's CPU with 16 tiles (profiled). They are drawn into one layer per
 * tile when their inputs change, and each frame only copies that layer.
 */
function overlayLayer(tile: Tile, zones: readonly ImageZone[], paths: readonly FeedPath[], w: number, h: number, labels: boolean): NonNullable<Tile['layer']> {
  const key = [zones, paths, w, h, labels];
  const l = tile.layer;
  if (l && l.key.length === key.length && l.key.every((v, i) => v === key[i])) return l;
  const canvas = l?.canvas ?? document.createElement('canvas');
  canvas.width = w; // also clears it
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  let texts = NO_TEXT;
  if (ctx) {
    if (zones.length) drawZones(ctx, zones, w, h, labels);
    if (paths.length) texts = drawFuturesOnFeed(ctx, [...paths], w, h, labels);
  }
  tile.layer = { canvas, key, texts };
  return tile.layer;
}

/** Zone outlines under everything else: site zones in grey, restricted zones in red, names inside. */
function drawZones(ctx: CanvasRenderingContext2D, zones: readonly ImageZone[], w: number, h: number, labels: boolean): void {
  const line = Math.max(1, Math.round(w / 400));
  const font = Math.max(10, Math.round(w / 70));
  ctx.save();
  ctx.lineWidth = line;
  ctx.font = `500 ${font}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const z of zones) {
    const color = z.kind === 'restricted' ? '248, 113, 113' : '203, 213, 225';
    ctx.beginPath();
    z.points.forEach(([u, v], i) => (i ? ctx.lineTo(u * w, v * h) : ctx.moveTo(u * w, v * h)));
    ctx.closePath();
    ctx.fillStyle = `rgba(${color}, 0.12)`;
    ctx.fill();
    ctx.setLineDash([line * 5, line * 3]);
    ctx.strokeStyle = `rgba(${color}, 0.9)`;
    ctx.stroke();
    ctx.setLineDash([]);
    if (!labels) continue;
    // The name at the zone's topmost visible corner, kept inside the frame.
    const top = z.points.filter(([u, v]) => u >= 0 && u <= 1 && v >= 0 && v <= 1).sort((a, b) => a[1] - b[1])[0];
    if (!top) continue;
    const text = z.kind === 'restricted' ? `⚠ ${z.name}` : z.name;
    const x = Math.min(Math.max(top[0] * w + 4, 2), w - ctx.measureText(text).width - 2);
    ctx.fillStyle = `rgba(${color}, 0.95)`;
    ctx.fillText(text, x, Math.min(top[1] * h + 3, h - font - 2));
  }
  ctx.restore();
}
