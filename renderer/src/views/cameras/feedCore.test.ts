import { describe, expect, it } from 'vitest';
import { DetectionBuffer, feedSizeFor, FpsMeter, FrameLedger, HoldEstimate, MAX_HOLD_MS, MIN_PAINT_INTERVAL_MS, playout, pageOf, paintDelay, parseChannelMessage, type FrameDetections } from './feedCore';

// Messages built from docs/protocol.md ("Camera frames to the renderer"), not from main's encoder.
function message(kind: number, channel: number, ts: number, width: number, height: number, payload: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(16 + payload.length);
  const v = new DataView(out);
  v.setUint8(0, 1);
  v.setUint8(1, kind);
  v.setUint16(2, channel);
  v.setFloat64(4, ts);
  v.setUint16(12, width);
  v.setUint16(14, height);
  new Uint8Array(out, 16).set(payload);
  return out;
}
const encodeFrame = (h: { channel: number; ts: number; width: number; height: number }, payload: Uint8Array, kind = 1): ArrayBuffer =>
  message(kind, h.channel, h.ts, h.width, h.height, payload);
const encodeDetections = (channel: number, ts: number, d: unknown): ArrayBuffer => message(2, channel, ts, 0, 0, new TextEncoder().encode(JSON.stringify(d)));
const ab = (b: ArrayBuffer): ArrayBuffer => b;
const det = (trackId: string): FrameDetections => ({ observations: [{ box: { left: 0.1, top: 0.2, right: 0.3, bottom: 0.5 }, cls: 'Human', score: 0.8, trackId }], inferenceMs: 12 });

describe('frame channel messages (main encodes, the renderer parses)', () => {
  it('reads a JPEG frame and a detections message with their channel and frame timestamp', () => {
    const jpeg = new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    expect(parseChannelMessage(ab(encodeFrame({ channel: 7, ts: 1795222210400, width: 640, height: 360 }, jpeg)))).toMatchObject({
      kind: 'jpeg',
      channel: 7,
      ts: 1795222210400,
      width: 640,
      height: 360,
      jpeg: new Uint8Array(jpeg),
    });
    expect(parseChannelMessage(ab(encodeDetections(9, 1795222210500, det('4'))))).toEqual({ kind: 'detections', channel: 9, ts: 1795222210500, detections: det('4') });
  });

  it('refuses what is malformed instead of throwing', () => {
    expect(parseChannelMessage(new ArrayBuffer(8))).toBeUndefined();
    expect(parseChannelMessage(ab(encodeFrame({ channel: 1, ts: 1, width: 1, height: 1 }, new TextEncoder().encode('not a jpeg'))))).toBeUndefined();
    const badBox = { observations: [{ box: { left: 0, top: 0, right: 2, bottom: 1 }, cls: 'Human', score: 0.5, trackId: '1' }], inferenceMs: 1 };
    expect(parseChannelMessage(ab(encodeDetections(1, 1, badBox)))).toBeUndefined();
    const notJson = encodeFrame({ channel: 1, ts: 1, width: 0, height: 0 }, new TextEncoder().encode('{oops'), 2);
    expect(parseChannelMessage(ab(notJson))).toBeUndefined();
    const unknownKind = encodeFrame({ channel: 1, ts: 1, width: 0, height: 0 }, new Uint8Array([0xff, 0xd8, 0, 0]), 9);
    expect(parseChannelMessage(ab(unknownKind))).toBeUndefined();
  });
});

describe('DetectionBuffer', () => {
  it('gives a frame its own detections, not the latest ones', () => {
    const b = new DetectionBuffer();
    b.add(1000, det('a'));
    b.add(1100, det('b'));
    b.add(1200, det('c'));
    expect(b.match(1100, 50)?.d.observations[0]!.trackId).toBe('b');
    // Nearest within half a frame period (a camera clock a few ms off).
    expect(b.match(1190, 50)?.d.observations[0]!.trackId).toBe('c');
    // A frame the detector skipped gets no boxes rather than a neighbour's.
    expect(b.match(1150, 40)).toBeUndefined();
    expect(b.match(1300, 50)).toBeUndefined();
  });

  it('accepts late and out-of-order arrivals, replaces a duplicate and keeps only its capacity', () => {
    const b = new DetectionBuffer(3);
    b.add(1200, det('c'));
    b.add(1000, det('a'));
    b.add(1100, det('b'));
    b.add(1100, det('b2'));
    expect(b.size).toBe(3);
    expect(b.match(1100, 0)?.d.observations[0]!.trackId).toBe('b2');
    b.add(1300, det('d'));
    expect(b.size).toBe(3);
    expect(b.match(1000, 0)).toBeUndefined(); // the oldest went
    expect(b.match(1300, 0)?.d.observations[0]!.trackId).toBe('d');
  });
});

describe('feed size per layout', () => {
  it('asks for no more pixels than the tile shows, full size in focus', () => {
    expect(feedSizeFor(16, false)).toEqual({ width: 320, height: 180, fps: 10 });
    expect(feedSizeFor(9, false)).toEqual({ width: 480, height: 270, fps: 10 });
    expect(feedSizeFor(4, false)).toEqual({ width: 640, height: 360, fps: 10 });
    expect(feedSizeFor(16, true)).toEqual({ width: 1280, height: 720, fps: 10 });
    expect(feedSizeFor(1, false)).toEqual(feedSizeFor(4, true));
    expect(feedSizeFor(16, false, 'high')).toEqual({ width: 640, height: 360, fps: 10 });
    // Full: 1280×720 in every layout (large screens; the feed benchmark's second case).
    for (const layout of [4, 9, 16] as const) expect(feedSizeFor(layout, false, 'full')).toEqual({ width: 1280, height: 720, fps: 10 });
  });

  it('pages cameras by layout and clamps the page', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(pageOf(items, 4, 2)).toEqual({ items: [8, 9], page: 2, pages: 3 });
    expect(pageOf(items, 4, 9).page).toBe(2);
    expect(pageOf([], 16, 0)).toEqual({ items: [], page: 0, pages: 1 });
  });

  it('counts painted frames over a sliding window', () => {
    const m = new FpsMeter(1000);
    for (let t = 0; t < 2000; t += 100) m.tick(t);
    expect(m.fps(1950)).toBe(10);
    expect(m.fps(3000)).toBe(0);
  });

  it('spaces paints by the paint interval, asking for the animation frame half a vsync early', () => {
    expect(paintDelay(0, -Infinity)).toBeLessThan(0); // the first frame paints at once
    expect(paintDelay(1010, 1000)).toBeGreaterThan(0);
    expect(paintDelay(1000 + MIN_PAINT_INTERVAL_MS - 8, 1000)).toBeCloseTo(0);
    // 16 tiles at 10 fps on independent phases, a 60 Hz display: at most 30 paints a second, and
    // every frame is painted (a tile's next frame comes 100 ms later, after the next paint).
    let last = -Infinity;
    let timerAt: number | undefined;
    let rafPending = false;
    let paints = 0;
    const dirty = new Set<number>();
    let painted = 0;
    let superseded = 0;
    const arrivals = Array.from({ length: 16 }, (_, i) => (i * 37) % 100);
    for (let t = 0; t < 1000; t++) {
      for (const [i, phase] of arrivals.entries()) {
        if (t % 100 !== phase) continue;
        if (dirty.has(i)) superseded++;
        dirty.add(i);
        if (!rafPending && timerAt === undefined) {
          const wait = paintDelay(t, last);
          if (wait <= 0) rafPending = true;
          else timerAt = t + wait;
        }
      }
      if (timerAt !== undefined && t >= timerAt) {
        timerAt = undefined;
        rafPending = true;
      }
      const vsync = Math.floor((t * 60) / 1000) !== Math.floor(((t - 1) * 60) / 1000);
      if (rafPending && vsync) {
        rafPending = false;
        last = t;
        paints++;
        painted += dirty.size;
        dirty.clear();
      }
    }
    expect(paints).toBeLessThanOrEqual(31);
    expect(paints).toBeGreaterThan(20);
    expect(superseded).toBe(0);
    expect(painted + dirty.size).toBe(160);
  });
});


describe('FrameLedger (boxes on their own frames, detection lag)', () => {
  it('counts a painted frame as boxed only when its own detections were drawn on it', () => {
    const l = new FrameLedger();
    l.frameArrived(1000, 5000, 50);
    l.painted(1000, false); // painted before its detections came
    l.frameArrived(1100, 5100, 50);
    l.detectionsArrived(1000, 5130, 2, 50); // too late: frame 1000 was replaced
    l.painted(1100, false);
    l.detectionsArrived(1100, 5160, 1, 50);
    l.painted(1100, true); // repainted with its boxes while still shown
    l.frameArrived(1200, 5200, 50); // never painted: not counted
    l.detectionsArrived(1200, 5210, 1, 50);
    const s = l.stats();
    expect(s.paintedWithDetections).toBe(2);
    expect(s.paintedWithOwnBoxes).toBe(1);
    expect(s.lags).toEqual([130, 60, 10]);
  });

  it('pairs detections that came before their frame (negative lag) and ignores frames without observations', () => {
    const l = new FrameLedger();
    l.frameArrived(900, 4900, 50);
    l.detectionsArrived(1002, 4990, 1, 50);
    l.frameArrived(1000, 5000, 50);
    l.painted(1000, true);
    l.frameArrived(1100, 5100, 50);
    l.detectionsArrived(1100, 5120, 0, 50); // the detector saw nothing: no boxes to carry
    l.painted(1100, false);
    expect(l.stats()).toEqual({ paintedWithDetections: 1, paintedWithOwnBoxes: 1, lags: [-10, 20] });
  });

  it('keeps counting frames that left its window, and forgets everything on reset', () => {
    const l = new FrameLedger(3);
    for (let i = 0; i < 10; i++) {
      l.frameArrived(i * 100, i * 100, 50);
      l.detectionsArrived(i * 100, i * 100 + 5, 1, 50);
      l.painted(i * 100, i % 2 === 0);
    }
    expect(l.stats()).toMatchObject({ paintedWithDetections: 10, paintedWithOwnBoxes: 5 });
    l.reset();
    expect(l.stats()).toEqual({ paintedWithDetections: 0, paintedWithOwnBoxes: 0, lags: [] });
  });
});

describe('playout buffer (a frame waits briefly for its own detections)', () => {
  const base = { now: 1000, arrivedAt: 990, holdMs: 60, boxesOn: true, sendsDetections: true, hasDetections: false };
  it('holds a frame until its deadline from arrival, and not past it', () => {
    expect(playout(base)).toEqual({ hold: true, until: 1050 });
    expect(playout({ ...base, now: 1050 })).toEqual({ hold: false });
  });

  it('never holds with boxes off, for a camera sending no detections, or when they are already here', () => {
    expect(playout({ ...base, boxesOn: false })).toEqual({ hold: false });
    expect(playout({ ...base, sendsDetections: false })).toEqual({ hold: false });
    expect(playout({ ...base, hasDetections: true })).toEqual({ hold: false });
    expect(playout({ ...base, holdMs: 0 })).toEqual({ hold: false });
  });

  it('waits long enough for nine in ten detections, bounded, and not at all until it has seen a few', () => {
    const h = new HoldEstimate();
    for (const l of [20, 30, 25]) h.add(l);
    expect(h.holdMs()).toBe(0);
    for (const l of [35, 22, 28, 31, 26, 24, 40]) h.add(l);
    expect(h.holdMs()).toBe(40 + 10);
    expect(h.holdMs(30)).toBe(30); // most come within the bound: wait the bound
    // Detections before their frame count as no wait.
    const early = new HoldEstimate();
    for (let i = 0; i < 10; i++) early.add(-5);
    expect(early.holdMs()).toBe(10);
  });

  it('does not wait when most detections come later than the bound (a loaded machine)', () => {
    const h = new HoldEstimate();
    for (const l of [400, 900, 2400, 60, 1200, 700, 300, 1500, 50, 800]) h.add(l);
    expect(h.holdMs(MAX_HOLD_MS)).toBe(0);
    // Half within the bound: waiting the bound buys those boxes.
    const half = new HoldEstimate();
    for (const l of [40, 50, 60, 70, 30, 400, 900, 500, 300, 200]) half.add(l);
    expect(half.holdMs(MAX_HOLD_MS)).toBe(MAX_HOLD_MS);
  });

  it('follows the recent lags, not the whole history', () => {
    const h = new HoldEstimate();
    for (let i = 0; i < 50; i++) h.add(2000);
    expect(h.holdMs()).toBe(0);
    for (let i = 0; i < 50; i++) h.add(20);
    expect(h.holdMs()).toBe(30);
  });
});
