// The embedded broker on its own thread, with real MQTT clients (the mqtt package) over 127.0.0.1.
import net from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { DESKTOP_USERNAME, startEmbeddedBroker } from './broker';

const SERIAL = 'B8A44F7D507D';
const tsWorker = (file: string, workerData: unknown): Worker =>
  new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(path.join(__dirname, 'testdata', file))});`, { eval: true, workerData });

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Each start loads aedes and zod in a new thread (0.2–0.9 s at load 10–17 on 2 cores): room beyond vitest's 5 s.
describe('embedded broker thread', { timeout: 20_000 }, () => {
  it('keeps acknowledging publishes while the owner’s thread is blocked', async () => {
    const b = await startEmbeddedBroker();
    // The camera runs on a thread of its own, so only the broker's placement decides whether its
    // PUBACKs come back while this thread spins (a broker on this thread would answer none).
    const cam = tsWorker('round-trips.ts', { url: b.url });
    try {
      await new Promise<void>((resolve, reject) => {
        cam.once('error', reject);
        cam.once('message', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 200)); // a few round trips before, to warm up
      const now = (): number => performance.timeOrigin + performance.now();
      const from = now();
      while (now() - from < 300); // busy: no timers, no I/O on this thread
      const to = now();
      await new Promise((r) => setTimeout(r, 100));
      const done = new Promise<[number, number][]>((resolve) => cam.on('message', (m: { type: string; acks: [number, number][] }) => m.type === 'done' && resolve(m.acks)));
      cam.postMessage('stop');
      const acks = await done;
      // Sent and acknowledged inside the blocked window: the broker answered without this thread.
      const during = acks.filter(([sent, acked]) => sent >= from && acked <= to);
      expect(during.length).toBeGreaterThanOrEqual(5);
    } finally {
      await cam.terminate();
      await b.close();
    }
  });

  it('lets only the desktop, with its password, publish under omnisight/desktop/', async () => {
    const b = await startEmbeddedBroker({ desktopPassword: 'correct horse' });
    const listener = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    const heard: string[] = [];
    listener.on('message', (t, p) => heard.push(`${t} ${String(p)}`));
    await listener.subscribeAsync(['omnisight/#', 'axis/#'], { qos: 1 });
    const clients: mqtt.MqttClient[] = [listener];
    try {
      // Wrong password, and a right-length wrong password: refused at CONNECT (code 4).
      await expect(mqtt.connectAsync(b.url, { username: DESKTOP_USERNAME, password: 'guess', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/);
      await expect(mqtt.connectAsync(b.url, { username: DESKTOP_USERNAME, password: 'correct horsf', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/);
      const desktop = await mqtt.connectAsync(b.url, { username: DESKTOP_USERNAME, password: 'correct horse', reconnectPeriod: 0 });
      clients.push(desktop);
      await desktop.publishAsync('omnisight/desktop/fl/announce', 'from the desktop', { qos: 1 });
      // A camera: its own topics pass; the desktop's prefix (and the bare prefix) and $SYS cost it the connection.
      for (const topic of ['omnisight/desktop/outcomes/x', 'omnisight/desktop', '$SYS/forged']) {
        const camera = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
        clients.push(camera);
        await camera.publishAsync(`axis/${SERIAL}/omnisight/heartbeat`, 'camera ok', { qos: 1 });
        const closed = new Promise<void>((r) => camera.once('close', () => r()));
        camera.publish(topic, 'forged', { qos: 0 });
        await closed;
      }
      await desktop.publishAsync('omnisight/desktop/outcomes/x', 'second', { qos: 1 });
      await waitFor(() => heard.length === 5);
      expect(heard).toEqual([
        'omnisight/desktop/fl/announce from the desktop',
        `axis/${SERIAL}/omnisight/heartbeat camera ok`,
        `axis/${SERIAL}/omnisight/heartbeat camera ok`,
        `axis/${SERIAL}/omnisight/heartbeat camera ok`,
        'omnisight/desktop/outcomes/x second',
      ]);
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await b.close();
    }
  });

  it('refuses the desktop login when it was started without a password', async () => {
    const b = await startEmbeddedBroker();
    try {
      await expect(mqtt.connectAsync(b.url, { username: DESKTOP_USERNAME, password: 'anything', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/);
    } finally {
      await b.close();
    }
  });

  it('says clearly that the port is taken', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as AddressInfo).port;
    try {
      await expect(startEmbeddedBroker({ port })).rejects.toThrow(`could not listen on 127.0.0.1:${port}: another program uses that port (EADDRINUSE)`);
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });

  it('reports a crashed thread to onError, and a closed one not at all', async () => {
    const errors: Error[] = [];
    const crashing = await startEmbeddedBroker({ entry: path.join(__dirname, 'testdata', 'crashing-broker.ts'), onError: (e) => errors.push(e) });
    await waitFor(() => errors.length > 0);
    expect(errors.map((e) => e.message)).toEqual(['aedes fell over (fixture)']); // once: not again for the exit that follows
    await crashing.close(); // still safe to call

    const closedErrors: Error[] = [];
    const b = await startEmbeddedBroker({ onError: (e) => closedErrors.push(e) });
    await b.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(closedErrors).toEqual([]);
  });
});
