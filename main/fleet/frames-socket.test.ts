// Browser mode's frame sink: what counts as queued toward a page. The last part runs it over a real
// WebSocket on loopback with a page that stops taking frames: the queue stays bounded.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createFrameMux, createSocketFrameSink, socketAckOf, streamKey, type AckingSocket } from './frames';
import { parseCameraId } from '../../preload/contract/camera-id';

const CAM = parseCameraId('cam-01');

class FakeSocket implements AckingSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Buffer[] = [];
  private readonly listeners: ((data: unknown, isBinary: boolean) => void)[] = [];
  send(data: Buffer): void {
    this.sent.push(data);
  }
  on(_event: 'message', l: (data: unknown, isBinary: boolean) => void): this {
    this.listeners.push(l);
    return this;
  }
  text(s: string): void {
    for (const l of this.listeners) l(Buffer.from(s), false);
  }
}

describe('socketAckOf', () => {
  it('reads only {"type":"ack","bytes":n} with a whole non-negative n', () => {
    expect(socketAckOf('{"type":"ack","bytes":1234}')).toBe(1234);
    expect(socketAckOf('{"type":"ack","bytes":-1}')).toBeUndefined();
    expect(socketAckOf('{"type":"ack","bytes":1.5}')).toBeUndefined();
    expect(socketAckOf('{"type":"ack","bytes":1,"x":2}')).toBeUndefined();
    expect(socketAckOf('{"type":"ack"')).toBeUndefined();
    expect(socketAckOf('{"type":"call","id":1,"method":"app.ping","input":{}}')).toBeUndefined();
  });
});

describe('createSocketFrameSink', () => {
  it("is held to the socket's bufferedAmount until the client acknowledges, then to what it has not taken", () => {
    const ws = new FakeSocket();
    const sink = createSocketFrameSink(ws);
    sink.send(Buffer.alloc(1000));
    sink.send(Buffer.alloc(500));
    ws.bufferedAmount = 7;
    expect(sink.bufferedAmount()).toBe(7); // a client that never acknowledges: as before
    ws.text('{"type":"ack","bytes":1000}');
    expect(sink.bufferedAmount()).toBe(500); // the kernel holds it, bufferedAmount says 7
    ws.text('{"type":"ack","bytes":1500}');
    expect(sink.bufferedAmount()).toBe(0);
    expect(sink.stats()).toEqual({ sent: 1500, acked: 1500, badAcks: 0 });
  });

  it('refuses acknowledgements beyond what was sent or going backwards', () => {
    const ws = new FakeSocket();
    const sink = createSocketFrameSink(ws);
    sink.send(Buffer.alloc(100));
    ws.text('{"type":"ack","bytes":60}');
    ws.text('{"type":"ack","bytes":101}');
    ws.text('{"type":"ack","bytes":50}');
    expect(sink.stats()).toEqual({ sent: 100, acked: 60, badAcks: 2 });
    expect(sink.bufferedAmount()).toBe(40);
  });
});

describe('over a real WebSocket', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('a page that stops taking frames gets at most the high-water mark queued; the rest are dropped', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const mux = createFrameMux({ onChange: () => undefined, highWaterBytes: 64 * 1024 });
    const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r));
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    close = async () => {
      client.close();
      await new Promise<void>((r) => wss.close(() => r()));
    };
    const ws = await serverSide;
    mux.attach('page', createSocketFrameSink(ws));
    mux.watch('page', [CAM], 640, 360, 10);
    // The page acknowledges its first frame, then its main thread is busy: nothing more is taken.
    let got = 0;
    let received = 0;
    const firstAck = new Promise<void>((r) =>
      client.on('message', (d: Buffer) => {
        got++;
        received += d.length;
        if (got === 1) {
          client.send(`{"type":"ack","bytes":${received}}`);
          r();
        }
      }),
    );
    const frame = { ts: 1, width: 640, height: 360, jpeg: Buffer.alloc(16 * 1024, 1) };
    mux.deliver(streamKey(CAM, 640, 360, 10), frame);
    await firstAck;
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 100; i++) mux.deliver(streamKey(CAM, 640, 360, 10), { ...frame, ts: 2 + i });
    const stats = mux.stats('page')!;
    // 1.6 MB offered; loopback would have absorbed all of it. Only ~64 KiB worth goes out unacknowledged.
    expect(stats.sent).toBeLessThanOrEqual(1 + 5);
    expect(stats.dropped).toBeGreaterThanOrEqual(100 - 5);
  });
});
