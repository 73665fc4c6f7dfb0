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
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';

/** Topics only the desktop publishes (fl2 server messages, outcomes): docs/protocol.md. */
export const DESKTOP_TOPIC_PREFIX = 'omnisight/desktop/';
export const DESKTOP_USERNAME = 'omnisight-desktop';

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

/**
 * desktopPassword: the secret the desktop's own client logs in with (user DESKTOP_USERNAME). Only a
 * client that logged in with it may publish under omnisight/desktop/; anyone else who tries is
 * disconnected (MQTT 3.1.1 cannot refuse a single publish). Without it, nobody may publish there.
 */
export async function startEmbeddedBroker(opts: { port?: number; maxQueued?: number; desktopPassword?: string } = {}): Promise<EmbeddedBroker> {
  const desktops = new WeakSet<Client>();
  const secret = opts.desktopPassword ? Buffer.from(opts.desktopPassword) : undefined;
  const aedes = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      if (username !== DESKTOP_USERNAME) return done(null, true); // cameras: anonymous on loopback
      const ok = !!secret && !!password && password.length === secret.length && timingSafeEqual(password, secret);
      if (ok) desktops.add(client);
      done(ok ? null : Object.assign(new Error('bad desktop credentials'), { returnCode: 4 }), ok);
    },
    authorizePublish(client, packet, done) {
      if (packet.topic.startsWith('$SYS')) return done(new Error('$SYS topics are reserved'));
      const desktopOnly = packet.topic.startsWith(DESKTOP_TOPIC_PREFIX) || packet.topic === DESKTOP_TOPIC_PREFIX.slice(0, -1);
      if (desktopOnly && !(client && desktops.has(client))) return done(new Error(`only the desktop publishes under ${DESKTOP_TOPIC_PREFIX}`));
      done(null);
    },
  });
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
