// One multiplexed frame channel per client: binary messages with a 16-byte header and the JPEG
// (format in docs/protocol.md, "Camera frames to the renderer"). A client whose socket is backed up
// loses frames instead of queueing them, so a slow tab never grows main's memory or its latency.

import type { CameraId } from '../../preload/contract/camera-id';

export const FRAME_VERSION = 1;
export const FRAME_KIND_JPEG = 1;
/** Detections for one frame: the header's timestamp is `frame.timestamp`, width/height are 0, the payload is JSON. */
export const FRAME_KIND_DETECTIONS = 2;
export const FRAME_HEADER_BYTES = 16;
/** Above this many unsent bytes on a client's socket, new frames for it are dropped. */
export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;

export interface FrameHeader {
  channel: number;
  ts: number;
  width: number;
  height: number;
}

export function encodeFrame(h: FrameHeader, jpeg: Uint8Array, kind: number = FRAME_KIND_JPEG): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + jpeg.length);
  out.writeUInt8(FRAME_VERSION, 0);
  out.writeUInt8(kind, 1);
  out.writeUInt16BE(h.channel, 2);
  out.writeDoubleBE(h.ts, 4);
  out.writeUInt16BE(h.width, 12);
  out.writeUInt16BE(h.height, 14);
  out.set(jpeg, FRAME_HEADER_BYTES);
  return out;
}

export function decodeFrame(buf: Uint8Array): (FrameHeader & { jpeg: Uint8Array }) | undefined {
  if (buf.length < FRAME_HEADER_BYTES || buf[0] !== FRAME_VERSION || buf[1] !== FRAME_KIND_JPEG) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  return { channel: v.getUint16(2), ts: v.getFloat64(4), width: v.getUint16(12), height: v.getUint16(14), jpeg: buf.subarray(FRAME_HEADER_BYTES) };
}

/** What a detections message carries (JSON after the header); boxes normalised to 0..1. */
export interface FrameDetections {
  observations: { box: { left: number; top: number; right: number; bottom: number }; cls: string; score: number; trackId: string }[];
  inferenceMs: number | null;
  /** The report failed a trust check (shown in permissive mode only): draw the boxes marked as unverified. */
  unverified?: true;
}

export function encodeDetections(channel: number, frameTs: number, d: FrameDetections): Buffer {
  return encodeFrame({ channel, ts: frameTs, width: 0, height: 0 }, Buffer.from(JSON.stringify(d), 'utf8'), FRAME_KIND_DETECTIONS);
}

/** A client's end of the channel: a WebSocket in browser mode, a MessagePort in app mode. */
export interface FrameSink {
  send(data: Buffer): void;
  bufferedAmount(): number;
  isOpen(): boolean;
}

export interface StreamSpec {
  key: string;
  cameraId: CameraId;
  width: number;
  height: number;
  fps: number;
}

export const streamKey = (cameraId: CameraId, width: number, height: number, fps: number): string => `${cameraId}@${width}x${height}@${fps}`;

interface Client {
  sink: FrameSink | undefined;
  channels: Map<number, StreamSpec>;
  nextChannel: number;
  sent: number;
  dropped: number;
}

export interface FrameMux {
  /** Binds a client's sink (on connect); frames for its channels start flowing. */
  attach(peer: string, sink: FrameSink): void;
  detach(peer: string): void;
  watch(peer: string, cameraIds: readonly CameraId[], width: number, height: number, fps: number): { cameraId: CameraId; channel: number }[];
  unwatch(peer: string, channels?: number[]): number;
  /** Drops every channel of a camera (it was removed). */
  forgetCamera(cameraId: CameraId): void;
  deliver(streamKey: string, f: { ts: number; width: number; height: number; jpeg: Uint8Array }): void;
  /** Detections of one camera's frame to every channel that shows that camera (any size). */
  deliverDetections(cameraId: CameraId, frameTs: number, d: FrameDetections): void;
  /** Whether some client watches this camera. */
  watching(cameraId: CameraId): boolean;
  /** The streams some client currently wants. */
  wanted(): Map<string, StreamSpec>;
  stats(peer: string): { sent: number; dropped: number } | undefined;
}

export function createFrameMux(opts: { onChange: () => void; highWaterBytes?: number }): FrameMux {
  const high = opts.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
  const clients = new Map<string, Client>();
  const client = (peer: string): Client => {
    let c = clients.get(peer);
    if (!c) {
      c = { sink: undefined, channels: new Map(), nextChannel: 1, sent: 0, dropped: 0 };
      clients.set(peer, c);
    }
    return c;
  };

  return {
    attach(peer, sink) {
      client(peer).sink = sink;
    },
    detach(peer) {
      const had = clients.get(peer)?.channels.size ?? 0;
      clients.delete(peer);
      if (had) opts.onChange();
    },
    watch(peer, cameraIds, width, height, fps) {
      const c = client(peer);
      const out = cameraIds.map((cameraId) => {
        // Channel ids stay below 65536 (u16 in the header); reuse freed ones when they wrap.
        let channel = c.nextChannel;
        while (c.channels.has(channel)) channel = (channel % 65535) + 1;
        c.nextChannel = (channel % 65535) + 1;
        c.channels.set(channel, { key: streamKey(cameraId, width, height, fps), cameraId, width, height, fps });
        return { cameraId, channel };
      });
      opts.onChange();
      return out;
    },
    unwatch(peer, channels) {
      const c = clients.get(peer);
      if (!c) return 0;
      let n = 0;
      for (const ch of channels ?? [...c.channels.keys()]) if (c.channels.delete(ch)) n++;
      if (n) opts.onChange();
      return n;
    },
    forgetCamera(cameraId) {
      let n = 0;
      for (const c of clients.values())
        for (const [ch, s] of c.channels)
          if (s.cameraId === cameraId) {
            c.channels.delete(ch);
            n++;
          }
      if (n) opts.onChange();
    },
    deliver(key, f) {
      for (const c of clients.values()) {
        if (!c.sink?.isOpen()) continue;
        for (const [channel, s] of c.channels) {
          if (s.key !== key) continue;
          if (c.sink.bufferedAmount() > high) {
            c.dropped++;
            continue;
          }
          c.sink.send(encodeFrame({ channel, ts: f.ts, width: f.width, height: f.height }, f.jpeg));
          c.sent++;
        }
      }
    },
    deliverDetections(cameraId, frameTs, d) {
      let json: Buffer | undefined; // serialised once, only when someone watches
      for (const c of clients.values()) {
        if (!c.sink?.isOpen()) continue;
        for (const [channel, s] of c.channels) {
          if (s.cameraId !== cameraId) continue;
          if (c.sink.bufferedAmount() > high) {
            c.dropped++;
            continue;
          }
          json ??= Buffer.from(JSON.stringify(d), 'utf8');
          c.sink.send(encodeFrame({ channel, ts: frameTs, width: 0, height: 0 }, json, FRAME_KIND_DETECTIONS));
        }
      }
    },
    watching(cameraId) {
      for (const c of clients.values()) for (const s of c.channels.values()) if (s.cameraId === cameraId) return true;
      return false;
    },
    wanted() {
      const out = new Map<string, StreamSpec>();
      for (const c of clients.values()) for (const s of c.channels.values()) out.set(s.key, s);
      return out;
    },
    stats: (peer) => {
      const c = clients.get(peer);
      return c && { sent: c.sent, dropped: c.dropped };
    },
  };
}

// ---- Browser mode: the WebSocket ----
// ws.bufferedAmount counts only the bytes not yet handed to the kernel. On loopback the kernel's
// send and receive buffers and Chromium's own receive queue hold megabytes more: seconds of 16 HD
// feeds queued behind a page that cannot keep up, while bufferedAmount stays under the high-water
// mark. A page that acknowledges what its handlers took (a text message {"type":"ack","bytes":n},
// n the total binary bytes received on this socket) has everything it has not taken counted, so
// the mux drops frames instead of letting that queue grow. A client that never acknowledges (a
// script, an older page) is held to bufferedAmount alone, as before.

/** What the sink uses of a `ws` WebSocket (tests pass a fake with the same shape). */
export interface AckingSocket {
  send(data: Buffer, opts: { binary: true }): void;
  readonly bufferedAmount: number;
  readonly readyState: number;
  readonly OPEN: number;
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
}

/** Reads {"type":"ack","bytes":n} and nothing else; undefined for any other text message. */
export function socketAckOf(text: string): number | undefined {
  // Contract calls are the other text messages: skip them without parsing.
  if (text.length > 64 || !text.startsWith('{"type":"ack"')) return undefined;
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    const keys = Object.keys(m);
    return keys.length === 2 && m.type === 'ack' && Number.isSafeInteger(m.bytes) && (m.bytes as number) >= 0 ? (m.bytes as number) : undefined;
  } catch {
    return undefined;
  }
}

export function createSocketFrameSink(ws: AckingSocket): FrameSink & { stats(): { sent: number; acked: number | undefined; badAcks: number } } {
  let sent = 0;
  let acked: number | undefined; // undefined until the client's first acknowledgement
  let badAcks = 0;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const n = socketAckOf(String(data));
    if (n === undefined) return;
    // An acknowledgement can only grow and never exceed what was sent.
    if (n < (acked ?? 0) || n > sent) badAcks++;
    else acked = n;
  });
  return {
    send(d) {
      ws.send(d, { binary: true });
      sent += d.byteLength;
    },
    bufferedAmount: () => (acked === undefined ? ws.bufferedAmount : sent - acked),
    isOpen: () => ws.readyState === ws.OPEN,
    stats: () => ({ sent, acked, badAcks }),
  };
}

// ---- App mode: one MessagePort per window ----
// Electron's MessagePortMain has no bufferedAmount, so the renderer acknowledges what it has
// taken off the port: after each message it posts `{ack: <total bytes received so far>}`. The
// sink's "unsent" bytes are the bytes posted but not yet acknowledged, and the mux applies the
// same high-water rule to them as to a socket: a renderer that falls behind loses frames.

/** What the frame channel uses of Electron's MessagePortMain (tests pass a fake with the same shape). */
export interface FramePort {
  postMessage(message: unknown): void;
  start(): void;
  close(): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** Where window sinks are bound: the fleet service (attachSink / detachSink). */
export interface FrameSinkTarget {
  attachSink(peer: string, sink: FrameSink): void;
  /** Forgets the peer's sink and every channel it watched. */
  detachSink(peer: string): void;
}

export interface WindowFrameSinks {
  /**
   * A window's document was handed `port`: it becomes that window's frame sink. A port the window
   * held before belonged to its previous document (a reload), so it is closed and its channels go.
   */
  open(peer: string, port: FramePort): void;
  /** The window is gone: close its port and stop its channels. */
  close(peer: string): void;
  closeAll(): void;
  /** Bytes posted to the window and not yet acknowledged, and acknowledgements refused as malformed. */
  stats(peer: string): { unacked: number; badAcks: number } | undefined;
}

interface PortEntry {
  port: FramePort;
  sent: number;
  acked: number;
  badAcks: number;
  closed: boolean;
}

/** Reads `{ack: n}` and nothing else; n must be a whole byte count. */
const ackOf = (data: unknown): number | undefined => {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const keys = Object.keys(data);
  const ack = (data as { ack?: unknown }).ack;
  return keys.length === 1 && keys[0] === 'ack' && Number.isSafeInteger(ack) && (ack as number) >= 0 ? (ack as number) : undefined;
};

/** A Buffer may be a view into Node's shared pool; post exactly the message's bytes as an ArrayBuffer. */
const ownBytes = (d: Buffer): ArrayBuffer =>
  d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer
    ? d.buffer
    : (d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength) as ArrayBuffer);

export function createWindowFrameSinks(target: FrameSinkTarget): WindowFrameSinks {
  const current = new Map<string, PortEntry>();

  const drop = (peer: string, e: PortEntry): void => {
    e.closed = true;
    if (current.get(peer) !== e) return; // already replaced: the new port owns the peer now
    current.delete(peer);
    target.detachSink(peer);
  };

  return {
    open(peer, port) {
      const old = current.get(peer);
      if (old) {
        drop(peer, old);
        old.port.close();
      }
      const e: PortEntry = { port, sent: 0, acked: 0, badAcks: 0, closed: false };
      current.set(peer, e);
      port.on('message', (ev) => {
        const ack = ackOf(ev.data);
        // An acknowledgement can only grow and never exceed what was posted.
        if (ack === undefined || ack < e.acked || ack > e.sent) e.badAcks++;
        else e.acked = ack;
      });
      // The renderer's end went away (page closed or crashed) without a new document asking.
      port.on('close', () => drop(peer, e));
      port.start();
      target.attachSink(peer, {
        send(data) {
          if (e.closed) return;
          port.postMessage(ownBytes(data));
          e.sent += data.byteLength;
        },
        bufferedAmount: () => e.sent - e.acked,
        isOpen: () => !e.closed,
      });
    },
    close(peer) {
      const e = current.get(peer);
      if (!e) return;
      drop(peer, e);
      e.port.close();
    },
    closeAll() {
      for (const [peer, e] of [...current]) {
        drop(peer, e);
        e.port.close();
      }
    },
    stats(peer) {
      const e = current.get(peer);
      return e && { unacked: e.sent - e.acked, badAcks: e.badAcks };
    },
  };
}
