// The embedded broker: aedes on a loopback TCP port, for a desktop and the simulated fleet.
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';

/** Topics only the desktop publishes (fl1 server messages, outcomes): docs/protocol.md. */
export const DESKTOP_TOPIC_PREFIX = 'omnisight/desktop/';
export const DESKTOP_USERNAME = 'omnisight-desktop';

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * desktopPassword: the secret the desktop's own client logs in with (user DESKTOP_USERNAME). Only a
 * client that logged in with it may publish under omnisight/desktop/; anyone else who tries is
 * disconnected (MQTT 3.1.1 cannot refuse a single publish). Without it, nobody may publish there.
 */
export async function startEmbeddedBroker(opts: { port?: number; desktopPassword?: string } = {}): Promise<EmbeddedBroker> {
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
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
