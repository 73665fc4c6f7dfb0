// The embedded broker's thread: aedes on a loopback TCP port, started by broker.ts.
//
// Why a thread of its own: on the desktop's main thread every camera's socket read and every write
// to the subscriber competed with signature verification, fusion and the UI. Here aedes has an event
// loop to itself; the desktop's client reaches it over 127.0.0.1 exactly as before, so the MQTT wire
// is the same and only the scheduling changed. Measured (bench:detections, embedded broker, 1,000
// cameras × 10 Hz, 2 shared cores at load 8–10, alternating runs): the desktop main thread's CPU per
// report went from 74 and 134 µs to 27 and 30 µs, the share handled from 50 % and 1 % to 83 % and 47 %.
//
// Made to refuse load instead of falling over. aedes hands every publish to its emitter (mqemitter),
// which queues messages without bound while a subscriber's socket is full, and drains that queue
// recursively when a message matches no subscriber: a desktop subscriber that disconnects behind a
// queue of some thousand messages overflowed the stack and took the process down (seen at 1,000
// cameras × 10 Hz). Here (1) the emitter's queue is bounded: beyond maxQueued messages a publish is
// dropped and counted (the shared counter broker.ts reads as dropped()) — as mosquitto drops for a
// subscriber whose queue is full (max_queued_messages): the publisher's PUBACK says the broker took
// it, not that it was delivered — so memory stays bounded while the desktop is behind; (2) a
// catch-all listener completes every delivery in a microtask, so the emitter's drain never recurses
// on the stack, whatever the queue. A large fleet still belongs on an external broker (Settings →
// MQTT; Debian's mosquitto is one): this thread shares the desktop's process and cores.
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { Aedes, type Client } from 'aedes';
import { brokerOptionsSchema, DESKTOP_TOPIC_PREFIX, DESKTOP_USERNAME, toBrokerSchema, type BrokerOptions, type FromBroker } from './broker-protocol';

/** The part of mqemitter aedes uses. */
interface Emitter {
  readonly length: number;
  on(topic: string, notify: (packet: { topic: string }, done: () => void) => void, done?: () => void): unknown;
  removeListener(topic: string, notify: unknown, done?: () => void): unknown;
  removeAllListeners?(topic: string, done?: () => void): unknown;
  emit(packet: { topic: string }, cb?: (err?: Error) => void): unknown;
  close(cb: () => void): unknown;
}

function boundEmitter(inner: Emitter, maxQueued: number, onDrop: () => void): Emitter {
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
 * Only a client that logged in as DESKTOP_USERNAME with the desktop's password may publish under
 * omnisight/desktop/; anyone else who tries is disconnected (MQTT 3.1.1 cannot refuse a single
 * publish). Without a password, nobody may publish there. Cameras connect anonymously (loopback).
 */
async function serve(o: BrokerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const desktops = new WeakSet<Client>();
  const secret = o.desktopPassword ? Buffer.from(o.desktopPassword) : undefined;
  const dropped = new Int32Array(o.dropped);
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
  const broker = aedes as unknown as { mq: Emitter };
  broker.mq = boundEmitter(broker.mq, o.maxQueued, () => void Atomics.add(dropped, 0, 1));
  // No Nagle: one socket carries every camera's messages to the subscriber, and coalescing small
  // writes while waiting for delayed ACKs adds tens of milliseconds per detection.
  const server = net.createServer({ noDelay: true }, aedes.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await new Promise<void>((r) => aedes.close(() => r()));
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      e.code === 'EADDRINUSE'
        ? `The embedded MQTT broker could not listen on 127.0.0.1:${o.port}: another program uses that port (EADDRINUSE). Stop it, or choose another port.`
        : `The embedded MQTT broker could not listen on 127.0.0.1:${o.port}: ${e.message}`,
      { cause: err },
    );
  }
  return { port: (server.address() as AddressInfo).port, close };
}

const port = parentPort;
if (!port) throw new Error('broker-worker runs as a worker thread: start it with startEmbeddedBroker (broker.ts)');
const post = (m: FromBroker): void => port.postMessage(m);
serve(brokerOptionsSchema.parse(workerData)).then(
  (running) => {
    port.on('message', (raw: unknown) => {
      toBrokerSchema.parse(raw); // 'close', the only request
      // Exits once closed: a timer aedes left behind must not keep the thread (and close()) waiting.
      void running.close().finally(() => process.exit(0));
    });
    post({ type: 'ready', port: running.port });
  },
  (err: Error) => {
    post({ type: 'error', message: err.message.slice(0, 2_000) }); // the owner ends the thread
  },
);
