// The C app's v3 sessions across reconnects, under qemu, against the real desktop pieces (its MQTT
// client in external mode on Debian's mosquitto: the session key retained after its subscription,
// cleared when it leaves; the coordinator; its notices of unknown sessions): a desktop restart, a
// camera reconnect (its connection cut under it), a desktop restart while the broker still holds the
// previous desktop's key, and a desktop that missed an announcement. Nothing that should pass is
// refused (or a stated bound), and the camera is back on v3 by itself (docs/protocol.md, sessions).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../main/audit';
import { createEventBus } from '../main/kernel/bus';
import { createMqttService } from '../main/mqtt';
import { openDatabase } from '../main/store';
import { createSessionNotices, createSwarmService, loadDesktopSessionKey, SESSION_KEY_TOPIC } from '../main/swarm';
import { Camera, makeUnderLock, missingTool, NATIVE, startBroker, sysrootIn, until } from './testkit';
import { memorySecrets } from '../main/kernel/testkit';

const OUT = 'build/test-cam';
const skipReason = missingTool();
if (skipReason) console.log(`native/v3-reconnect.test.ts skipped: ${skipReason}`);

interface Seen {
  /** The envelope's `sent` (the camera's clock when it built the message). */
  sent: number;
  v: number;
  kind: string;
  session?: number;
  result: string;
  at: number;
}

/**
 * A TCP relay in front of the broker whose connections can be cut (the camera then reconnects).
 * `slowAfterConnack(ms)`: on the next connection, what the broker sends after its CONNACK (4 bytes)
 * in its first ms is held until then (a slow start): the camera is connected before its
 * subscriptions deliver anything.
 */
async function cuttable(target: number): Promise<{ port: number; cut(): void; slowAfterConnack(ms: number): void; close(): void }> {
  const sockets = new Set<net.Socket>();
  let slow = 0;
  const server = net.createServer((client) => {
    const up = net.connect(target, '127.0.0.1');
    sockets.add(client).add(up);
    client.pipe(up);
    const holdMs = slow;
    slow = 0;
    // The CONNACK at once, then everything held until holdMs after the connection, then as it comes.
    let passed = 0;
    let queued: Buffer[] | undefined = holdMs ? [] : undefined;
    if (queued)
      setTimeout(() => {
        for (const b of queued ?? []) if (client.writable) client.write(b);
        queued = undefined;
      }, holdMs);
    up.on('data', (d: Buffer) => {
      const head = queued ? d.subarray(0, Math.max(0, 4 - passed)) : d;
      const rest = d.subarray(head.length);
      passed += head.length;
      if (head.length) client.write(head);
      if (rest.length) queued!.push(rest);
    });
    const drop = (): void => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => sockets.forEach((s) => s.destroy()),
    slowAfterConnack: (ms) => void (slow = ms),
    close: () => {
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'omnisight-v3-reconnect-'));
let sysroot = '';
beforeAll(() => {
  if (skipReason) return;
  makeUnderLock(OUT, ['TARGET=camera'], ['all', 'fltool']);
  sysroot = sysrootIn(dir);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(skipReason !== null)('the C app\'s v3 sessions across reconnects, against the desktop\'s MQTT client and coordinator over mosquitto', () => {
  const SERIAL = 'ACCC8E0000B3';
  let broker: ChildProcess | undefined;
  let watcher: mqtt.MqttClient | undefined;
  let mqttPort = 0;
  let relay: Awaited<ReturnType<typeof cuttable>>;
  let cam: Camera;
  let identity: { key: string; publicKey: string };
  let frames: NodeJS.Timeout | undefined;
  const secrets = memorySecrets(); // the desktop's key store, kept across its restarts
  let n = 0;
  /** What the camera sends, seen by another client of the broker (whether a desktop listens or not). */
  const wire: { v: number; kind: string; at: number }[] = [];

  const startDesktop = async (o: { shedSessions?: number } = {}) => {
    const now = Date.now;
    const { db } = openDatabase({ dir: join(dir, `desktop-${++n}`), now });
    const bus = createEventBus();
    const sessionKey = loadDesktopSessionKey(secrets);
    const swarm = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now, audit: createAuditLog({ db, bus, now }), zones: [], every: () => () => undefined, sessionKey });
    swarm.registerCamera({ serial: SERIAL, keyId: identity.key, publicKey: identity.publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
    const svc = createMqttService({ config: () => ({ mode: 'external', url: `mqtt://127.0.0.1:${mqttPort}`, username: '' }), secrets: memorySecrets(), log: pino({ level: 'silent' }) });
    svc.retainOnConnect(SESSION_KEY_TOPIC, sessionKey.announcement());
    const notices = createSessionNotices({ desktopKeyId: sessionKey.id, publish: (t, p) => svc.publish(t, p), now });
    const seen: Seen[] = [];
    let shed = o.shedSessions ?? 0;
    svc.onRaw((topic, payload) => {
      const env = JSON.parse(payload.toString()) as { v: number; kind: string; session?: number; sent: number };
      if (env.kind === 'session' && shed > 0) {
        shed--; // dropped unread, as the app sheds what waited too long on a loaded machine
        return;
      }
      const r = swarm.ingest(payload, now(), topic);
      notices(r);
      seen.push({ sent: env.sent, v: env.v, kind: env.kind, ...(env.session ? { session: env.session } : {}), result: r.accepted ? 'ok' : r.label, at: now() });
    });
    await svc.start();
    return {
      seen,
      announcement: sessionKey.announcement(),
      refused: () => seen.filter((s) => s.result !== 'ok'),
      /**
       * After a cut connection libmosquitto sends again the QoS 1 messages (heartbeats) the broker
       * had not acknowledged, built before the cut under the session of then: the desktop refuses
       * such a copy (a duplicate, or a session it no longer holds). What must not be refused is
       * anything the camera built after the cut.
       */
      refusedBuiltAfter: (t: number) => seen.filter((s) => s.result !== 'ok' && s.sent >= t),
      v3ok: (since = 0) => seen.filter((s) => s.v === 3 && s.result === 'ok' && s.at >= since),
      async stop() {
        await svc.close();
        swarm.close();
        db.close();
      },
    };
  };
  type Desktop = Awaited<ReturnType<typeof startDesktop>>;
  const v3Again = (d: Desktop, since: number, count = 5, ms = 20_000) => until(`${count} v3 reports accepted`, () => (d.v3ok(since).length >= count ? true : undefined), ms);

  beforeAll(async () => {
    let client: mqtt.MqttClient;
    ({ port: mqttPort, broker, client } = await startBroker(dir));
    watcher = client;
    watcher.on('message', (_t, p) => {
      const e = JSON.parse(p.toString()) as { v: number; kind: string };
      wire.push({ v: e.v, kind: e.kind, at: Date.now() });
    });
    await watcher.subscribeAsync(`axis/${SERIAL}/omnisight/+`, { qos: 0 });
    relay = await cuttable(mqttPort);
    cam = new Camera(SERIAL, dir, sysroot, join(NATIVE, OUT, 'omnisight'));
    await cam.start({ mqttPort: relay.port }); // the default 30 s repetition of announcements
    identity = (await (await fetch(`http://127.0.0.1:${cam.httpPort}/identity.cgi`)).json()) as typeof identity;
    expect(cam.err + cam.out).not.toMatch(/cannot disable Nagle/); // MOSQ_OPT_TCP_NODELAY took
    frames = setInterval(() => cam.feed?.write(JSON.stringify({ timestamp: Date.now(), width: 640, height: 360, inference_ms: 20, fps_camera: 10, detections: [{ box: [100, 200, 200, 340], label: 'person', score: 0.9 }] }) + '\n'), 100);
  }, 90_000);
  afterAll(async () => {
    clearInterval(frames);
    if (cam?.proc && cam.proc.exitCode === null) cam.proc.kill('SIGKILL');
    cam?.feed?.destroy();
    cam?.source?.close();
    relay?.close();
    await watcher?.endAsync(true);
    broker?.kill('SIGTERM');
  });

  it('a desktop restart: v2 while no desktop is there (it cleared its key), nothing refused after it, v3 again', async () => {
    let desk = await startDesktop();
    try {
      await v3Again(desk, 0);
      const before = desk.v3ok().at(-1)!.session!;
      await desk.stop();
      const stoppedAt = Date.now();
      await new Promise((r) => setTimeout(r, 1_500));
      const meanwhile = wire.filter((m) => m.at > stoppedAt + 300 && (m.kind === 'detections' || m.kind === 'heartbeat'));
      expect(meanwhile.length).toBeGreaterThan(5);
      expect(meanwhile.filter((m) => m.v !== 2)).toEqual([]);
      const at = Date.now();
      desk = await startDesktop();
      await v3Again(desk, at);
      expect(desk.refused()).toEqual([]);
      expect(desk.v3ok(at).at(-1)!.session).toBeGreaterThan(before);
    } finally {
      await desk.stop();
    }
  }, 60_000);

  it('a camera reconnect: nothing refused, and v3 only under a session announced on the new connection', async () => {
    const desk = await startDesktop();
    try {
      await v3Again(desk, 0);
      const last = desk.v3ok().at(-1)!.session!;
      const cutAt = Date.now();
      relay.slowAfterConnack(400); // the retained key reaches the camera 0.4 s after it is connected again
      relay.cut();
      await until('the camera back on the broker', () => (desk.seen.some((s) => s.at > cutAt + 200) ? true : undefined), 20_000);
      await v3Again(desk, cutAt);
      expect(desk.refusedBuiltAfter(cutAt)).toEqual([]);
      expect(desk.refused().length).toBeLessThanOrEqual(2); // a heartbeat or two in flight at the cut, sent again
      const after = desk.seen.filter((s) => s.sent >= cutAt); // built after the cut (not a copy sent again)
      const firstV3 = after.findIndex((s) => s.v === 3);
      expect(after.slice(0, firstV3).filter((s) => s.kind === 'session' && s.result === 'ok').length).toBeGreaterThan(0);
      expect(after[firstV3]!.session).toBeGreaterThan(last);
    } finally {
      await desk.stop();
    }
  }, 60_000);

  it('a camera reconnect while the desktop restarts: nothing refused, v3 again', async () => {
    let desk = await startDesktop();
    try {
      await v3Again(desk, 0);
      const cutAt = Date.now();
      relay.slowAfterConnack(400); // a slow link: the camera is connected 0.4 s before its subscriptions deliver
      relay.cut();
      await desk.stop();
      const at = Date.now();
      desk = await startDesktop();
      await v3Again(desk, at);
      expect(desk.refusedBuiltAfter(cutAt)).toEqual([]);
      expect(desk.refused().length).toBeLessThanOrEqual(2); // a heartbeat or two in flight at the cut, sent again
    } finally {
      await desk.stop();
    }
  }, 60_000);

  it("a desktop restart while the broker still holds the previous desktop's key: at most the reports in flight refused, v3 again", async () => {
    let desk = await startDesktop();
    try {
      await v3Again(desk, 0);
      const announcement = desk.announcement;
      await desk.stop();
      const stale = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
      await stale.publishAsync(SESSION_KEY_TOPIC, announcement, { qos: 1, retain: true });
      await stale.endAsync();
      await new Promise((r) => setTimeout(r, 1_000)); // the camera's session for it, acknowledged while no desktop listens
      const at = Date.now();
      desk = await startDesktop();
      await v3Again(desk, at);
      // The v3 reports the camera sent under that session before the desktop's key (or notice) reached it.
      expect(desk.refused().every((s) => s.result === 'unknown session')).toBe(true);
      expect(desk.refused().length).toBeLessThanOrEqual(5);
    } finally {
      await desk.stop();
    }
  }, 60_000);

  it('a desktop that missed the announcement tells the camera, which is back on v3 within seconds (its repetition is 30 s)', async () => {
    const desk = await startDesktop({ shedSessions: 1 });
    try {
      const at = Date.now();
      await v3Again(desk, at, 5, 15_000);
      expect(desk.refused().length).toBeGreaterThan(0);
      expect(desk.refused().length).toBeLessThanOrEqual(5);
      expect(desk.refused().every((s) => s.result === 'unknown session')).toBe(true);
      expect(cam.err + cam.out).toMatch(/does not know session \d+: session \d+ opened/);
    } finally {
      await desk.stop();
    }
  }, 60_000);
});
