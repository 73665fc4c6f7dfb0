// Envelope v3 sessions across every reconnect order, the simulator's agent against the real
// coordinator and the desktop's MQTT client over real brokers (Debian's mosquitto, the desktop's
// embedded aedes): a desktop restart on the same broker, a camera moved to another broker (another
// desktop), a camera reconnect, a desktop restart while the broker still holds the previous
// desktop's retained key, and a desktop that missed an announcement (shed under load). What a user
// relies on: nothing that should pass is refused, and the camera is back on v3 by itself
// (docs/protocol.md, "Envelope v3", sessions).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { createEventBus } from '../kernel/bus';
import type { SecretStore } from '../kernel/ports';
import { createMqttService, DESKTOP_USERNAME, MQTT_PASSWORD_SECRET, startEmbeddedBroker, type BrokerConfig, type EmbeddedBroker } from '../mqtt';
import { openDatabase } from '../store';
import { createSessionNotices, createSwarmService, loadDesktopSessionKey, SESSION_KEY_TOPIC } from '../swarm';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl, freePort, sleep } from './testkit';
import { memorySecrets, waitFor } from '../kernel/testkit';

interface Seen {
  v: number;
  kind: string;
  session?: number;
  result: string;
  at: number;
}

type Camera = { serial: string; key: string; publicKey: string };

/**
 * A desktop as the app wires it: its MQTT client (session key retained on connect) feeding the
 * coordinator, whose "unknown session" refusals go back to the camera as notices. `shedSessions`:
 * that many session announcements are dropped unread (as the app sheds messages that waited too
 * long on a loaded machine).
 */
async function startDesktop(o: { config: BrokerConfig; dbDir: string; secrets: SecretStore; mqttSecrets?: SecretStore; camera: Camera; embeddedPort?: number; shedSessions?: number }) {
  const now = Date.now;
  const { db } = openDatabase({ dir: o.dbDir, now });
  const bus = createEventBus();
  const sessionKey = loadDesktopSessionKey(o.secrets);
  const swarm = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now, audit: createAuditLog({ db, bus, now }), zones: [], every: () => () => undefined, sessionKey });
  swarm.registerCamera({ serial: o.camera.serial, keyId: o.camera.key, publicKey: o.camera.publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
  const svc = createMqttService({ config: () => o.config, secrets: o.mqttSecrets ?? memorySecrets(), log: pino({ level: 'silent' }), ...(o.embeddedPort ? { embeddedPort: o.embeddedPort } : {}) });
  svc.retainOnConnect(SESSION_KEY_TOPIC, sessionKey.announcement());
  const notices = createSessionNotices({ desktopKeyId: sessionKey.id, publish: (t, p) => svc.publish(t, p), now });
  const seen: Seen[] = [];
  let shed = o.shedSessions ?? 0;
  svc.onRaw((topic, payload) => {
    let env: { v?: number; kind?: string; session?: number } = {};
    try {
      env = JSON.parse(payload.toString()) as typeof env;
    } catch {
      /* counted by the swarm */
    }
    if (env.kind === 'session' && shed > 0) {
      shed--;
      return;
    }
    const r = swarm.ingest(payload, now(), topic);
    notices(r);
    seen.push({ v: env.v ?? 0, kind: env.kind ?? '?', ...(env.session ? { session: env.session } : {}), result: r.accepted ? 'ok' : r.label, at: now() });
  });
  await svc.start();
  return {
    swarm,
    svc,
    seen,
    sessionKey,
    refused: () => seen.filter((s) => s.result !== 'ok'),
    v3ok: () => seen.filter((s) => s.v === 3 && s.result === 'ok'),
    async stop() {
      await svc.close();
      swarm.close();
      db.close();
    },
  };
}
type Desktop = Awaited<ReturnType<typeof startDesktop>>;

describe('v3 sessions across reconnects: the simulator agent', () => {
  let mosquitto: ChildProcess;
  let mosquittoUrl = '';
  let dir = '';
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let camera: Camera;
  let n = 0;

  const vapixMqtt = async (method: string, params?: unknown): Promise<void> => {
    await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { user: cam.username, pass: cam.password, data: JSON.stringify({ apiVersion: '1.0', method, ...(params ? { params } : {}) }) });
  };
  const pointCameraAt = async (port: number, o: { username?: string; password?: string } = {}): Promise<void> => {
    await vapixMqtt('deactivateClient');
    await vapixMqtt('configureClient', { server: { protocol: 'tcp', host: '127.0.0.1', port }, ...(o.username ? { username: o.username, password: o.password } : {}) });
    await vapixMqtt('activateClient');
  };
  const mosquittoConfig = (): BrokerConfig => ({ mode: 'external', url: mosquittoUrl, username: '' });
  const fresh = () => ({ dbDir: path.join(dir, `desktop-${++n}`), secrets: memorySecrets(), camera });
  /** Reports after `since` accepted as v3 (at least `count`). */
  const v3Again = async (d: Desktop, since: number, count = 5): Promise<void> => {
    await waitFor(`${count} v3 reports accepted`, () => d.v3ok().filter((s) => s.at >= since).length >= count);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-v3-reconnect-'));
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
    mosquittoUrl = `mqtt://127.0.0.1:${port}`;
    fleet = await startSimulatedFleet({ cameras: 1, seed: 41 });
    cam = fleet.cameras[0]!;
    const id = JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, { user: cam.username, pass: cam.password })).body.toString()) as { camera: string; key: string; publicKey: string };
    camera = { serial: id.camera, key: id.key, publicKey: id.publicKey };
    // mosquitto is up once it accepts a client.
    for (let i = 0; i < 50; i++) {
      const ok = await mqtt
        .connectAsync(mosquittoUrl, { reconnectPeriod: 0, connectTimeout: 500 })
        .then(async (c) => (await c.endAsync(), true))
        .catch(() => false);
      if (ok) break;
      await sleep(100);
    }
  }, 30_000);
  afterAll(async () => {
    await fleet?.stop();
    mosquitto?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const broker of ['mosquitto', 'embedded'] as const) {
    it(`${broker}: a desktop restart on the same broker refuses nothing, and v3 resumes`, async () => {
      const port = broker === 'embedded' ? await freePort() : 0;
      const config: BrokerConfig = broker === 'mosquitto' ? mosquittoConfig() : { mode: 'embedded', url: '', username: '' };
      const base = fresh();
      let desk = await startDesktop({ ...base, config, embeddedPort: port });
      await pointCameraAt(desk.svc.endpoint()!.port);
      await v3Again(desk, 0);
      const before = desk.v3ok().at(-1)!.session!;
      // What the camera sends while no desktop is there (mosquitto: another client listens).
      const watcher = broker === 'mosquitto' ? await mqtt.connectAsync(mosquittoUrl, { reconnectPeriod: 0 }) : undefined;
      const meanwhile: { v: number; at: number }[] = [];
      watcher?.on('message', (_t, p) => meanwhile.push({ v: (JSON.parse(p.toString()) as { v: number }).v, at: Date.now() }));
      await watcher?.subscribeAsync(`axis/${camera.serial}/omnisight/+`, { qos: 0 });
      await desk.stop();
      const stoppedAt = Date.now();
      // The camera's client reconnects too while the desktop is down (the deploy e2e's order); with
      // mosquitto it finds no desktop key: the desktop cleared it when it left.
      if (broker === 'mosquitto') {
        await vapixMqtt('deactivateClient');
        await vapixMqtt('activateClient');
      }
      await sleep(1_500);
      const restartedAt = Date.now();
      await watcher?.endAsync();
      if (watcher) {
        // No v3 under a session no desktop holds: the camera went back to v2 when the desktop left.
        expect(meanwhile.filter((m) => m.at > stoppedAt + 300).length).toBeGreaterThan(5);
        expect(meanwhile.filter((m) => m.at > stoppedAt + 300 && m.v !== 2)).toEqual([]);
      }
      desk = await startDesktop({ ...base, config, embeddedPort: port }); // same key, same database; the embedded broker on the same port
      await v3Again(desk, restartedAt);
      expect(desk.refused()).toEqual([]);
      expect(desk.v3ok().at(-1)!.session).toBeGreaterThan(broker === 'mosquitto' ? before : 0);
      await desk.stop();
    }, 60_000);
  }

  for (const [from, to] of [['mosquitto', 'embedded'], ['embedded', 'mosquitto']] as const) {
    it(`broker switch ${from} → ${to} (another desktop, another key): the new desktop refuses nothing, v3 resumes`, async () => {
      const a = await startDesktop({ ...fresh(), config: from === 'mosquitto' ? mosquittoConfig() : { mode: 'embedded', url: '', username: '' } });
      const b = await startDesktop({ ...fresh(), config: to === 'mosquitto' ? mosquittoConfig() : { mode: 'embedded', url: '', username: '' } });
      try {
        expect(a.sessionKey.id).not.toBe(b.sessionKey.id);
        await pointCameraAt(a.svc.endpoint()!.port);
        await v3Again(a, 0);
        const at = Date.now();
        await pointCameraAt(b.svc.endpoint()!.port);
        await v3Again(b, at);
        expect(b.refused()).toEqual([]);
        expect(b.seen.filter((s) => s.kind === 'session').every((s) => s.result === 'ok')).toBe(true);
      } finally {
        await a.stop();
        await b.stop();
      }
    }, 60_000);
  }

  for (const broker of ['mosquitto', 'embedded'] as const) {
    it(`${broker}: a camera reconnect refuses nothing; v3 only under a session announced on the new connection`, async () => {
      const desk = await startDesktop({ ...fresh(), config: broker === 'mosquitto' ? mosquittoConfig() : { mode: 'embedded', url: '', username: '' } });
      try {
        await pointCameraAt(desk.svc.endpoint()!.port);
        await v3Again(desk, 0);
        const last = desk.v3ok().at(-1)!.session!;
        await vapixMqtt('deactivateClient');
        await sleep(200);
        const at = Date.now();
        await vapixMqtt('activateClient');
        await v3Again(desk, at);
        expect(desk.refused()).toEqual([]);
        const after = desk.seen.filter((s) => s.at >= at);
        const firstV3 = after.findIndex((s) => s.v === 3);
        // Its session was announced (and accepted) after the reconnect, before its first v3 report.
        const announced = after.slice(0, firstV3).filter((s) => s.kind === 'session' && s.result === 'ok');
        expect(announced.length).toBeGreaterThan(0);
        expect(after[firstV3]!.session).toBeGreaterThan(last);
      } finally {
        await desk.stop();
      }
    }, 60_000);
  }

  // The embedded broker lives in the desktop (it cannot outlast it), so the stale key is tried on
  // its aedes run on its own, as an external broker would be.
  for (const broker of ['mosquitto', 'aedes'] as const) {
    it(`${broker}: a desktop restart while the broker still holds the previous desktop's key: at most the reports in flight refused, v3 resumes`, async () => {
      let aedes: EmbeddedBroker | undefined;
      let config = mosquittoConfig();
      let mqttSecrets: SecretStore | undefined;
      let staleLogin: { username?: string; password?: string } = {};
      if (broker === 'aedes') {
        const password = 'desktop-secret-for-this-test';
        aedes = await startEmbeddedBroker({ port: 0, desktopPassword: password });
        config = { mode: 'external', url: aedes.url, username: DESKTOP_USERNAME };
        mqttSecrets = memorySecrets({ [MQTT_PASSWORD_SECRET]: password });
        staleLogin = { username: DESKTOP_USERNAME, password };
      }
      const base = fresh();
      let desk = await startDesktop({ ...base, config, ...(mqttSecrets ? { mqttSecrets } : {}) });
      try {
        await pointCameraAt(desk.svc.endpoint()!.port);
        await v3Again(desk, 0);
        const announcement = desk.sessionKey.announcement();
        await desk.stop();
        // The previous desktop's key is still there (a desktop that died where the broker did not
        // notice, or one from before the will): the camera opens a session for it, acknowledged by
        // the broker while no desktop listens.
        const stale = await mqtt.connectAsync(config.url, { reconnectPeriod: 0, ...staleLogin });
        await stale.publishAsync(SESSION_KEY_TOPIC, announcement, { qos: 1, retain: true });
        await stale.endAsync();
        await sleep(500);
        const at = Date.now();
        desk = await startDesktop({ ...base, config, ...(mqttSecrets ? { mqttSecrets } : {}) });
        await v3Again(desk, at);
        // Refused: only v3 reports the camera sent under the session nobody heard before the
        // desktop's re-published key (or its notice) reached it: the reports in flight, a few at 10 Hz.
        expect(desk.refused().every((s) => s.result === 'unknown session')).toBe(true);
        expect(desk.refused().length).toBeLessThanOrEqual(5);
      } finally {
        await desk.stop();
        await aedes?.close();
      }
    }, 60_000);
  }

  for (const broker of ['mosquitto', 'embedded'] as const) {
    it(`${broker}: a desktop that missed the announcement (shed under load) tells the camera, which is back on v3 within seconds, not at its 30 s repetition`, async () => {
      const desk = await startDesktop({ ...fresh(), config: broker === 'mosquitto' ? mosquittoConfig() : { mode: 'embedded', url: '', username: '' }, shedSessions: 1 });
      try {
        const at = Date.now();
        await pointCameraAt(desk.svc.endpoint()!.port);
        await v3Again(desk, at);
        expect(Date.now() - at).toBeLessThan(10_000);
        // The reports sent under the unheard session until the notice reached the camera.
        expect(desk.refused().every((s) => s.result === 'unknown session')).toBe(true);
        expect(desk.refused().length).toBeGreaterThan(0);
        expect(desk.refused().length).toBeLessThanOrEqual(5);
      } finally {
        await desk.stop();
      }
    }, 60_000);
  }
});
