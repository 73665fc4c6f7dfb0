// The embedded broker: aedes on a loopback TCP port, for a desktop and the simulated fleet.
//
// Made to refuse load instead of falling over. aedes hands every publish to its emitter (mqemitter),
// which queues messages without bound while a subscriber's socket is full, and drains that queue
// recursively when a message matches no subscriber: a desktop subscriber that disconnects behind a
// queue of some thousand messages overflowed the stack and took the process down (seen at 1,000
// cameras × 10 Hz). Here (1) the emitter's queue is bounded: beyond MAX_QUEUED messages a publish is
// dropped and counted (`dropped()`) — as mosquitto drops for a subscriber whose queue is full
// (max_queued_messages): the publisher's PUBACK says the broker took it, not that it was delivered —
// so memory stays bounded while the desktop is behind; (2) a catch-all listener completes every delivery in a microtask, so the emitter's drain
// never recurses on the stack, whatever the queue. A large fleet belongs on an external broker
// (Settings → MQTT; Debian's mosquitto is one): the embedded one shares the desktop's event loop.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

/** Publishes waiting in the broker (for a slow subscriber) before new ones are dropped. */
export const MAX_QUEUED = 5_000;

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Publishes dropped since start because the broker's queue was full. */
  dropped(): number;
  close(): Promise<void>;
}

/** The part of mqemitter aedes uses. */
interface Emitter {
  readonly length: number;
  on(topic: string, notify: (packet: { topic: string }, done: () => void) => void, done?: () => void): unknown;
  removeListener(topic: string, notify: unknown, done?: () => void): unknown;
  removeAllListeners?(topic: string, done?: () => void): unknown;
  emit(packet: { topic: string }, cb?: (err?: Error) => void): unknown;
  close(cb: () => void): unknown;
}

export function boundEmitter(inner: Emitter, maxQueued: number, onDrop: () => void): Emitter {
  // Every message has at least this listener, which returns its turn asynchronously: see above.
  inner.on('#', (_packet, done) => queueMicrotask(done));
  return {
    get length() {
      return inner.length;
    },
    on: (topic, notify, done) => inner.on(topic, notify, done),
    removeListener: (topic, notify, done) => inner.removeListener(topic, notify, done),
    removeAllListeners: (topic, done) => inner.removeAllListeners?.(topic, done),
    emit(packet, cb) {
      if (inner.length >= maxQueued && !packet.topic.startsWith('$SYS')) {
        onDrop();
        cb?.();
        return this;
      }
      return inner.emit(packet, cb);
    },
    close: (cb) => inner.close(cb),
  };
}

export async function startEmbeddedBroker(opts: { port?: number; maxQueued?: number } = {}): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker();
  let dropped = 0;
  const broker = aedes as unknown as { mq: Emitter };
  broker.mq = boundEmitter(broker.mq, opts.maxQueued ?? MAX_QUEUED, () => void dropped++);
  // No Nagle: one socket carries every camera's messages to the subscriber, and coalescing small
  // writes while waiting for delayed ACKs adds tens of milliseconds per detection.
  const server = net.createServer({ noDelay: true }, aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dropped: () => dropped,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
