// The engine's channel bookkeeping against a fake transport: one fleet.watch per feed size, only
// for tiles on screen, unwatch when a tile leaves the screen or changes size, and every feed asked
// for again after the socket reconnects (channels belong to a socket).
import { afterEach, describe, expect, it } from 'vitest';
import { parseCameraId } from '../../../../preload/contract';
import type { ConnectionState, Transport } from '../../transport/types';
import { FeedEngine, shownSize } from './feedEngine';

function fakeTransport() {
  const calls: { method: string; input: Record<string, unknown> }[] = [];
  const stateListeners = new Set<(s: ConnectionState) => void>();
  let state: ConnectionState = { status: 'open', attempt: 0, since: 0 };
  let nextChannel = 1;
  const t: Transport = {
    kind: 'ws',
    call: ((method: string, input: Record<string, unknown>) => {
      calls.push({ method, input });
      if (method === 'fleet.watch') return Promise.resolve({ channels: (input.cameraIds as string[]).map((cameraId) => ({ cameraId, channel: nextChannel++ })) });
      if (method === 'timeline.futuresForCameras')
        return Promise.resolve({
          at: 1,
          cameras: (input.cameraIds as string[]).map((cameraId) => ({ cameraId, calibrated: cameraId !== 'p', paths: [] })),
        });
      return Promise.resolve({ stopped: 1 });
    }) as Transport['call'],
    on: () => () => {},
    state: () => state,
    onState: (l) => {
      stateListeners.add(l);
      return () => stateListeners.delete(l);
    },
    onBinary: () => () => {},
  };
  return {
    t,
    calls,
    setState(status: ConnectionState['status']) {
      state = { status, attempt: 0, since: 0 };
      for (const l of stateListeners) l(state);
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 80));
const canvas = (): HTMLCanvasElement => ({}) as HTMLCanvasElement;
const small = { width: 320, height: 180, fps: 10 };
const big = { width: 1280, height: 720, fps: 10 };

let engine: FeedEngine | undefined;
afterEach(() => engine?.close());

describe('FeedEngine channels', () => {
  it('watches visible tiles in one call per size and stops what leaves the screen', async () => {
    const f = fakeTransport();
    engine = new FeedEngine(f.t);
    const cs = ['a', 'b', 'c'].map(parseCameraId).map((id) => {
      const c = canvas();
      engine!.attach(id, c, small);
      return c;
    });
    engine.setVisible(parseCameraId('a'), true);
    engine.setVisible(parseCameraId('b'), true);
    await settle();
    expect(f.calls).toEqual([{ method: 'fleet.watch', input: { cameraIds: ['a', 'b'], ...small } }]);
    const chA = engine.stats().find((s) => s.cameraId === 'a')!.channel!;

    // Scrolled off screen: its channel is given back.
    engine.setVisible(parseCameraId('a'), false);
    await settle();
    expect(f.calls[1]).toEqual({ method: 'fleet.unwatch', input: { channels: [chA] } });

    // Focused: the same camera at full size replaces the small feed.
    f.calls.length = 0;
    engine.attach(parseCameraId('b'), cs[1]!, big);
    await settle();
    expect(f.calls.map((c) => c.method)).toEqual(['fleet.unwatch', 'fleet.watch']);
    expect(f.calls[1]!.input).toEqual({ cameraIds: ['b'], ...big });
    expect(engine.stats().find((s) => s.cameraId === 'b')!.size).toBe('1280x720@10');
  });

  it('asks for every visible feed again after a reconnect, and nothing while disconnected', async () => {
    const f = fakeTransport();
    engine = new FeedEngine(f.t);
    engine.attach(parseCameraId('a'), canvas(), small);
    engine.setVisible(parseCameraId('a'), true);
    await settle();
    f.setState('reconnecting');
    f.calls.length = 0;
    engine.attach(parseCameraId('b'), canvas(), small);
    engine.setVisible(parseCameraId('b'), true);
    await settle();
    expect(f.calls).toEqual([]);
    f.setState('open');
    await settle();
    expect(f.calls).toEqual([{ method: 'fleet.watch', input: { cameraIds: ['a', 'b'], ...small } }]);
  });

  it('gives every channel back when the view closes', async () => {
    const f = fakeTransport();
    engine = new FeedEngine(f.t);
    engine.attach(parseCameraId('a'), canvas(), small);
    engine.attach(parseCameraId('b'), canvas(), small);
    engine.setVisible(parseCameraId('a'), true);
    engine.setVisible(parseCameraId('b'), true);
    await settle();
    engine.close();
    engine = undefined;
    expect(f.calls.at(-1)).toEqual({ method: 'fleet.unwatch', input: { channels: [1, 2] } });
  });
});

/** Tiles showing a decoded frame (Node has no JPEG decoder: a stand-in bitmap). */
function showingFrames(e: FeedEngine, ids: readonly string[]): void {
  const tiles = (e as unknown as { tiles: Map<string, { bitmap?: { close(): void } }> }).tiles;
  for (const id of ids) tiles.get(id)!.bitmap = { close: () => undefined };
}

describe('FeedEngine futures', () => {
  it('asks for the futures of all 16 tiles on screen in one call per refresh, not one per tile', async () => {
    const f = fakeTransport();
    engine = new FeedEngine(f.t);
    const ids = Array.from({ length: 18 }, (_, i) => parseCameraId(`cam${i}`));
    for (const id of ids) engine.attach(id, canvas(), small);
    for (const id of ids.slice(0, 16)) engine.setVisible(id, true); // two scrolled off screen
    showingFrames(engine, ids);
    engine.setOverlay(ids[3]!, { boxes: true, labels: true, futures: false, zones: false }); // one with futures off
    await settle();
    f.calls.length = 0;
    for (let i = 0; i < 4; i++) await engine.refreshFutures();
    const asked = f.calls.filter((c) => c.method.startsWith('timeline.'));
    expect(asked.map((c) => c.method)).toEqual(Array(4).fill('timeline.futuresForCameras'));
    expect(asked[0]!.input).toEqual({ cameraIds: ids.slice(0, 16).filter((_, i) => i !== 3) });
  });

  it('does not pile up calls while one is still out, and asks nothing with no tile on screen', async () => {
    const f = fakeTransport();
    let release: () => void = () => {};
    const slow = f.t.call;
    f.t.call = ((method: string, input: Record<string, unknown>) =>
      method === 'timeline.futuresForCameras' ? new Promise((r) => (release = () => r(slow(method as never, input as never))))
        : slow(method as never, input as never)) as typeof f.t.call;
    engine = new FeedEngine(f.t);
    await engine.refreshFutures();
    expect(f.calls.filter((c) => c.method.startsWith('timeline.'))).toHaveLength(0);
    engine.attach(parseCameraId('a'), canvas(), small);
    engine.setVisible(parseCameraId('a'), true);
    await engine.refreshFutures(); // no frame shown yet: nothing to draw futures on
    expect(f.calls.filter((c) => c.method.startsWith('timeline.'))).toHaveLength(0);
    showingFrames(engine, [parseCameraId('a')]);
    const first = engine.refreshFutures();
    await engine.refreshFutures(); // the first has not answered: skipped
    release();
    await first;
    expect(f.calls.filter((c) => c.method.startsWith('timeline.'))).toHaveLength(1);
  });
});

describe('shownSize (the size frames are decoded at)', () => {
  const canvas = (clientWidth: number, clientHeight: number): HTMLCanvasElement => ({ clientWidth, clientHeight }) as HTMLCanvasElement;
  const hd = { width: 1280, height: 720 };

  it('is the contained size of the frame in the tile, in device pixels', () => {
    expect(shownSize(canvas(320, 180), hd)).toEqual({ width: 320, height: 180 });
    // A tall box: the frame is letterboxed, its width sets the scale.
    expect(shownSize(canvas(320, 400), hd)).toEqual({ width: 320, height: 180 });
    // A wide box: the height sets it.
    expect(shownSize(canvas(800, 180), hd)).toEqual({ width: 320, height: 180 });
  });

  it('never asks for more than the frame, nor for a tile without layout', () => {
    expect(shownSize(canvas(1600, 900), hd)).toBeUndefined();
    expect(shownSize(canvas(0, 0), hd)).toBeUndefined();
  });
});
