// App mode's frame channel without Electron: a fake MessagePortMain (postMessage / start / close /
// on('message' | 'close')) stands in for the port main keeps; the renderer's side is played by the
// test (acknowledging, closing). The last part runs the real renderer transport against the real
// sinks over a Node MessageChannel.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageChannel, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCameraId } from '../../preload/contract/camera-id';
import { createIpcTransport, FRAMES_MESSAGE, type FrameWindow } from '../../renderer/src/transport/ipc';
import { createAuditLog } from '../audit';
import { createEventBus } from '../kernel/bus';
import { createDispatcher } from '../kernel/dispatcher';
import { silentLogger } from '../kernel/logger';
import { createFileKeySecretStore } from '../app';
import { createSettingsService } from '../settings';
import { openDatabase } from '../store';
import { createFrameMux, createWindowFrameSinks, decodeFrame, FRAME_HEADER_BYTES, FRAME_KIND_DETECTIONS, type FramePort, type FrameSink, type FrameSinkTarget } from './frames';
import { createFleetService } from './index';
import type { HelperSupervisor } from './supervisor';

/** Mimics Electron's MessagePortMain as far as the sink uses it. */
class FakePortMain implements FramePort {
  readonly posted: unknown[] = [];
  started = false;
  closed = false;
  private readonly messageListeners: ((e: { data: unknown }) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];
  postMessage(message: unknown): void {
    if (!this.closed) this.posted.push(message);
  }
  start(): void {
    this.started = true;
  }
  close(): void {
    this.closed = true;
  }
  on(event: 'message', listener: (e: { data: unknown }) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'message' | 'close', listener: ((e: { data: unknown }) => void) | (() => void)): this {
    if (event === 'message') this.messageListeners.push(listener as (e: { data: unknown }) => void);
    else this.closeListeners.push(listener as () => void);
    return this;
  }
  /** The renderer posts back on its end. */
  fromRenderer(data: unknown): void {
    for (const l of this.messageListeners) l({ data, ports: [] } as { data: unknown });
  }
  /** The renderer's end went away (page closed, renderer crashed). */
  remoteClosed(): void {
    for (const l of this.closeListeners) l();
  }
  /** Bytes the renderer has been sent. */
  bytes(): number {
    return this.posted.reduce<number>((n, m) => n + (m as ArrayBuffer).byteLength, 0);
  }
  frames(): NonNullable<ReturnType<typeof decodeFrame>>[] {
    return this.posted.map((m) => decodeFrame(new Uint8Array(m as ArrayBuffer))).filter((f) => !!f);
  }
}

const muxTarget = (mux: ReturnType<typeof createFrameMux>): FrameSinkTarget => ({ attachSink: (p, s) => mux.attach(p, s), detachSink: (p) => mux.detach(p) });
const jpeg = (n: number, fill = 7): Uint8Array<ArrayBuffer> => {
  const b = new Uint8Array(n).fill(fill);
  b[0] = 0xff;
  b[1] = 0xd8;
  return b;
};

describe('window frame sinks (app mode)', () => {
  it('sends a window\'s channels as exact ArrayBuffers once its port is open, watched before or after', () => {
    const mux = createFrameMux({ onChange: () => {} });
    const sinks = createWindowFrameSinks(muxTarget(mux));
    const [early] = mux.watch('window:1', [parseCameraId('c1')], 320, 180, 10); // the page may watch before the port is bound
    mux.deliver('c1@320x180@10', { ts: 1, width: 320, height: 180, jpeg: jpeg(100) });
    const port = new FakePortMain();
    sinks.open('window:1', port);
    expect(port.started).toBe(true);
    const [late] = mux.watch('window:1', [parseCameraId('c2')], 640, 360, 5);
    mux.deliver('c1@320x180@10', { ts: 2, width: 320, height: 180, jpeg: jpeg(100) });
    mux.deliver('c2@640x360@5', { ts: 3, width: 640, height: 360, jpeg: jpeg(5000) });
    mux.deliverDetections(parseCameraId('c1'), 2, { observations: [], inferenceMs: 12 });
    expect(port.posted.every((m) => m instanceof ArrayBuffer)).toBe(true);
    // Small messages come from Node's shared Buffer pool: only their own bytes may travel.
    expect(port.posted.map((m) => (m as ArrayBuffer).byteLength)).toEqual([FRAME_HEADER_BYTES + 100, FRAME_HEADER_BYTES + 5000, FRAME_HEADER_BYTES + JSON.stringify({ observations: [], inferenceMs: 12 }).length]);
    expect(port.frames().map((f) => [f.channel, f.ts, f.width, f.height, f.jpeg.length])).toEqual([
      [early!.channel, 2, 320, 180, 100],
      [late!.channel, 3, 640, 360, 5000],
    ]);
    const det = new Uint8Array(port.posted[2] as ArrayBuffer);
    expect(det[1]).toBe(FRAME_KIND_DETECTIONS);
    expect(JSON.parse(Buffer.from(det.subarray(FRAME_HEADER_BYTES)).toString('utf8'))).toEqual({ observations: [], inferenceMs: 12 });
  });

  it('drops frames while the renderer has more than 1 MiB unacknowledged, and resumes when it catches up', () => {
    const mux = createFrameMux({ onChange: () => {} });
    const sinks = createWindowFrameSinks(muxTarget(mux));
    const port = new FakePortMain();
    sinks.open('window:1', port);
    mux.watch('window:1', [parseCameraId('c1')], 64, 36, 10);
    const big = jpeg(400 * 1024);
    for (let i = 0; i < 10; i++) mux.deliver('c1@64x36@10', { ts: 1000 + i, width: 64, height: 36, jpeg: big });
    // Same rule as a socket: 0, 400 KiB and 800 KiB pending are below the mark, 1.2 MiB is not.
    expect(port.posted).toHaveLength(3);
    expect(mux.stats('window:1')).toEqual({ sent: 3, dropped: 7 });
    expect(sinks.stats('window:1')).toEqual({ unacked: port.bytes(), badAcks: 0 });

    port.fromRenderer({ ack: port.bytes() }); // the renderer took everything off the port
    expect(sinks.stats('window:1')!.unacked).toBe(0);
    mux.deliver('c1@64x36@10', { ts: 2000, width: 64, height: 36, jpeg: big });
    expect(port.frames().at(-1)!.ts).toBe(2000);
    expect(mux.stats('window:1')).toEqual({ sent: 4, dropped: 7 });
  });

  it('ignores malformed or impossible acknowledgements (they cannot unblock a stalled renderer)', () => {
    const mux = createFrameMux({ onChange: () => {} });
    const sinks = createWindowFrameSinks(muxTarget(mux));
    const port = new FakePortMain();
    sinks.open('window:1', port);
    mux.watch('window:1', [parseCameraId('c1')], 64, 36, 10);
    for (let i = 0; i < 3; i++) mux.deliver('c1@64x36@10', { ts: i, width: 64, height: 36, jpeg: jpeg(400 * 1024) });
    const sent = port.bytes();
    port.fromRenderer({ ack: sent + 1 }); // more than was ever sent
    port.fromRenderer({ ack: 10, extra: true });
    port.fromRenderer({ ack: 1.5 });
    port.fromRenderer({ ack: -1 });
    port.fromRenderer('ack');
    port.fromRenderer(null);
    port.fromRenderer([sent]);
    expect(sinks.stats('window:1')).toEqual({ unacked: sent, badAcks: 7 });
    port.fromRenderer({ ack: 100 });
    port.fromRenderer({ ack: 50 }); // going backwards
    expect(sinks.stats('window:1')).toEqual({ unacked: sent - 100, badAcks: 8 });
  });

  it('a reload replaces the port: the old one is closed and the old document\'s channels stop', () => {
    let changes = 0;
    const mux = createFrameMux({ onChange: () => changes++ });
    const sinks = createWindowFrameSinks(muxTarget(mux));
    const first = new FakePortMain();
    sinks.open('window:1', first);
    mux.watch('window:1', [parseCameraId('c1')], 320, 180, 10);
    expect([...mux.wanted().keys()]).toEqual(['c1@320x180@10']);
    const before = changes;

    const second = new FakePortMain();
    sinks.open('window:1', second);
    expect(first.closed).toBe(true);
    expect(mux.wanted().size).toBe(0);
    expect(changes).toBe(before + 1); // the fleet stops the camera stream nobody watches now
    first.remoteClosed(); // a late close of the old port must not unbind the new one
    mux.watch('window:1', [parseCameraId('c2')], 320, 180, 10);
    mux.deliver('c1@320x180@10', { ts: 1, width: 320, height: 180, jpeg: jpeg(64) });
    mux.deliver('c2@320x180@10', { ts: 2, width: 320, height: 180, jpeg: jpeg(64) });
    expect(first.posted).toHaveLength(0);
    expect(second.frames().map((f) => f.ts)).toEqual([2]);
  });

  it('the renderer\'s end closing, or the window going away, stops the channels; a socket peer is untouched', () => {
    const mux = createFrameMux({ onChange: () => {} });
    const sinks = createWindowFrameSinks(muxTarget(mux));
    const socketGot: Buffer[] = [];
    const socket: FrameSink = { send: (d) => socketGot.push(d), bufferedAmount: () => 0, isOpen: () => true };
    mux.attach('127.0.0.1:5000', socket);
    mux.watch('127.0.0.1:5000', [parseCameraId('c1')], 320, 180, 10);

    const a = new FakePortMain();
    sinks.open('window:1', a);
    mux.watch('window:1', [parseCameraId('c1')], 320, 180, 10);
    a.remoteClosed();
    expect(sinks.stats('window:1')).toBeUndefined();
    mux.deliver('c1@320x180@10', { ts: 1, width: 320, height: 180, jpeg: jpeg(64) });
    expect(a.posted).toHaveLength(0);
    expect(mux.stats('window:1')).toBeUndefined();

    const b = new FakePortMain();
    sinks.open('window:2', b);
    mux.watch('window:2', [parseCameraId('c3')], 320, 180, 10);
    sinks.close('window:2');
    expect(b.closed).toBe(true);
    sinks.close('window:2'); // twice is harmless
    expect([...mux.wanted().keys()]).toEqual(['c1@320x180@10']); // only the socket's channel remains
    mux.deliver('c1@320x180@10', { ts: 2, width: 320, height: 180, jpeg: jpeg(64) });
    expect(socketGot.map((d) => decodeFrame(d)!.ts)).toEqual([1, 2]);

    const c = new FakePortMain();
    sinks.open('window:3', c);
    sinks.closeAll();
    expect(c.closed).toBe(true);
    expect(sinks.stats('window:3')).toBeUndefined();
  });
});

describe('fleet.watch from a window', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('ties the channels to that window\'s port, not to whoever else calls', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-frames-port-'));
    dirs.push(dir);
    const log = silentLogger();
    const { db } = openDatabase({ dir });
    const bus = createEventBus();
    const helperCalls: { op: string; streamId?: string }[] = [];
    const helper = { call: async (req: { op: string; streamId?: string }) => (helperCalls.push(req), {}) } as unknown as HelperSupervisor;
    const fleet = createFleetService({
      db,
      bus,
      log,
      audit: createAuditLog({ db, bus, now: Date.now }),
      secrets: createFileKeySecretStore(db, dir),
      settings: createSettingsService({ db, bus, log, now: Date.now }),
      helper,
      broker: () => undefined,
      now: Date.now,
      noDemo: true,
    });
    try {
      const cam = fleet.registry.insert({ name: 'Gate', host: '127.0.0.1', port: 1, username: 'root', password: 'pw', model: 'M', serial: 'B8A44F7D507D', architecture: 'aarch64', soc: 's', firmware: '1' });
      const dispatcher = createDispatcher({ log });
      dispatcher.register(fleet.handlers);
      const sinks = createWindowFrameSinks(fleet);
      const win = new FakePortMain();
      const other = new FakePortMain();
      sinks.open('window:7', win);
      sinks.open('window:8', other);

      const r = await dispatcher.dispatch('fleet.watch', { cameraIds: [cam.id], width: 320, height: 180, fps: 10 }, { transport: 'ipc', peer: 'window:7' });
      expect(r.ok).toBe(true);
      const channel = (r as { value: { channels: { channel: number }[] } }).value.channels[0]!.channel;
      const key = `${cam.id}@320x180@10`;
      expect(helperCalls).toContainEqual(expect.objectContaining({ op: 'watch', streamId: key }));

      fleet.onHelperEvent({ type: 'frame', streamId: key, cameraId: cam.id, ts: 42, width: 320, height: 180, jpeg: jpeg(300) });
      expect(win.frames().map((f) => [f.channel, f.ts])).toEqual([[channel, 42]]);
      expect(other.posted).toHaveLength(0);

      // Closing the window stops its stream in the helper.
      sinks.close('window:7');
      expect(helperCalls.at(-1)).toEqual({ op: 'unwatch', streamId: key });
    } finally {
      await fleet.close();
      db.close();
    }
  });
});

describe('main ↔ renderer over a real MessageChannel', () => {
  /** Node's worker_threads port dressed as MessagePortMain (its 'message' listener gets the data itself). */
  const asPortMain = (p: NodeMessagePort): FramePort => ({
    postMessage: (m) => p.postMessage(m),
    start: () => p.start(),
    close: () => p.close(),
    on(event: 'message' | 'close', l: ((e: { data: unknown }) => void) | (() => void)) {
      if (event === 'message') p.on('message', (data: unknown) => (l as (e: { data: unknown }) => void)({ data }));
      else p.on('close', l as () => void);
      return this;
    },
  });

  /** A window whose preload posts the port from the app's origin. */
  const fakeWindow = () => {
    const target = new EventTarget();
    const posted: { message: unknown; origin: string }[] = [];
    const win: FrameWindow & { deliver(data: unknown, ports: unknown[], origin?: string, source?: unknown): void; posted: typeof posted } = {
      posted,
      addEventListener: (type, l) => target.addEventListener(type, l as EventListener),
      postMessage: (message, origin) => void posted.push({ message, origin }),
      deliver(data, ports, origin = 'app://omnisight', source = win) {
        target.dispatchEvent(Object.assign(new Event('message'), { data, ports, origin, source }));
      },
    };
    return win;
  };

  it('frames reach onBinary, each is acknowledged, and main sees the renderer caught up', async () => {
    const mux = createFrameMux({ onChange: () => {} });
    const sinks = createWindowFrameSinks(muxTarget(mux));
    const { port1, port2 } = new MessageChannel();
    const win = fakeWindow();
    const t = createIpcTransport({ call: async () => ({ ok: true, value: {} }), on: () => () => {} }, win);
    expect(win.posted).toEqual([{ message: { type: 'omnisight:frames-ready' }, origin: 'app://omnisight' }]);
    const got: ArrayBuffer[] = [];
    t.onBinary!((b) => got.push(b));
    sinks.open('window:1', asPortMain(port1));
    win.deliver({ type: FRAMES_MESSAGE }, [port2]);
    const [ch] = mux.watch('window:1', [parseCameraId('c1')], 320, 180, 10);
    for (let i = 0; i < 5; i++) mux.deliver('c1@320x180@10', { ts: 100 + i, width: 320, height: 180, jpeg: jpeg(2000 + i) });
    const end = Date.now() + 5000;
    while ((got.length < 5 || sinks.stats('window:1')!.unacked > 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(got.map((b) => decodeFrame(new Uint8Array(b))).map((f) => [f!.channel, f!.ts, f!.jpeg.length])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [ch!.channel, 100 + i, 2000 + i]),
    );
    expect(sinks.stats('window:1')).toEqual({ unacked: 0, badAcks: 0 });
    sinks.closeAll();
  });
});
