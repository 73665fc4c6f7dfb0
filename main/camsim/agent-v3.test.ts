// Envelope v3 end to end over real brokers (Debian's mosquitto, started here, and the desktop's
// embedded aedes): the simulator's agent (its own X25519/HKDF/HMAC, main/camsim/session-v3.ts)
// against the real coordinator (main/swarm) and the desktop's MQTT client (main/mqtt), which
// publishes the desktop key retained on connect. Asserts what a user relies on: the camera's reports
// are accepted as v3, forgeries and replays are refused, and after a desktop restart the camera is
// accepted again without anyone touching it.
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
import { createMqttService, type BrokerConfig } from '../mqtt';
import { openDatabase } from '../store';
import { createSwarmService, loadDesktopSessionKey, SESSION_KEY_TOPIC } from '../swarm';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl, freePort } from './testkit';
import { memorySecrets, waitFor } from '../kernel/testkit';

interface Seen {
  topic: string;
  raw: string;
  v: number;
  kind: string;
  session?: number;
  result: string;
}

/** A desktop: its MQTT client (retained session key on connect) feeding a coordinator on SQLite. */
async function startDesktop(o: { config: BrokerConfig; dbDir: string; secrets: SecretStore; camera: { serial: string; key: string; publicKey: string } }) {
  const now = Date.now;
  const { db } = openDatabase({ dir: o.dbDir, now });
  const bus = createEventBus();
  const sessionKey = loadDesktopSessionKey(o.secrets);
  const swarm = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now, audit: createAuditLog({ db, bus, now }), zones: [], every: () => () => undefined, sessionKey });
  swarm.registerCamera({ serial: o.camera.serial, keyId: o.camera.key, publicKey: o.camera.publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
  const svc = createMqttService({ config: () => o.config, secrets: memorySecrets(), log: pino({ level: 'silent' }) });
  svc.retainOnConnect(SESSION_KEY_TOPIC, sessionKey.announcement());
  const seen: Seen[] = [];
  svc.onRaw((topic, payload, at) => {
    const r = swarm.ingest(payload, at, topic);
    let env: { v?: number; kind?: string; session?: number } = {};
    try {
      env = JSON.parse(payload.toString()) as typeof env;
    } catch {
      /* counted by the swarm */
    }
    seen.push({ topic, raw: payload.toString(), v: env.v ?? 0, kind: env.kind ?? '?', ...(env.session ? { session: env.session } : {}), result: r.accepted ? 'ok' : r.label });
  });
  await svc.start();
  return {
    swarm,
    svc,
    seen,
    sessionKey,
    async stop() {
      await svc.close();
      swarm.close();
      db.close();
    },
  };
}

describe('envelope v3: the simulator agent against the coordinator over real brokers', () => {
  let mosquitto: ChildProcess;
  let mosquittoPort = 0;
  let dir = '';
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let identity: { camera: string; key: string; publicKey: string };

  const vapixMqtt = async (method: string, params?: unknown): Promise<void> => {
    await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { user: cam.username, pass: cam.password, data: JSON.stringify({ apiVersion: '1.0', method, ...(params ? { params } : {}) }) });
  };
  const pointCameraAt = async (port: number): Promise<void> => {
    await vapixMqtt('deactivateClient');
    await vapixMqtt('configureClient', { server: { protocol: 'tcp', host: '127.0.0.1', port } });
    await vapixMqtt('activateClient');
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-v3-'));
    mosquittoPort = await freePort();
    fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${mosquittoPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
    fleet = await startSimulatedFleet({ cameras: 1, seed: 31 });
    cam = fleet.cameras[0]!;
    identity = JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, { user: cam.username, pass: cam.password })).body.toString()) as typeof identity;
  }, 30_000);
  afterAll(async () => {
    await fleet?.stop();
    mosquitto?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const broker of ['mosquitto', 'embedded'] as const) {
    it(`${broker}: v3 accepted, forgeries and replays refused, accepted again after a desktop restart`, async () => {
      const config: BrokerConfig = broker === 'mosquitto' ? { mode: 'external', url: `mqtt://127.0.0.1:${mosquittoPort}`, username: '' } : { mode: 'embedded', url: '', username: '' };
      const secrets = memorySecrets();
      const dbDir = path.join(dir, `desktop-${broker}`);
      const camera = { serial: identity.camera, key: identity.key, publicKey: identity.publicKey };
      let desk = await startDesktop({ config, dbDir, secrets, camera });
      await pointCameraAt(desk.svc.endpoint()!.port);
      const v3ok = (d: typeof desk) => d.seen.filter((s) => s.v === 3 && s.result === 'ok');
      await waitFor('accepted v3 reports', () => v3ok(desk).length >= 5);
      const ann = desk.seen.find((s) => s.kind === 'session' && s.result === 'ok');
      expect(ann?.v).toBe(2); // the session is announced signed
      expect(desk.seen.filter((s) => s.kind === 'detections' && s.v === 3 && s.result !== 'ok')).toEqual([]);
      const session1 = desk.swarm.coordinator.verifier.sessionOf(identity.camera)!.session;

      // An attacker on the broker (any client may publish camera topics).
      const attacker = await mqtt.connectAsync(`mqtt://127.0.0.1:${desk.svc.endpoint()!.port}`, { reconnectPeriod: 0 });
      try {
        const last = v3ok(desk).at(-1)!;
        const env = JSON.parse(last.raw) as Record<string, unknown> & { mac: string; seq: number; session: number };
        const mac = Buffer.from(env.mac, 'base64');
        mac[5]! ^= 0x40;
        const fresh = { ...env, seq: env.seq + 10_000, sent: Date.now() };
        const n = desk.seen.length;
        await attacker.publishAsync(last.topic, JSON.stringify({ ...fresh, mac: mac.toString('base64') }), { qos: 1 }); // forged MAC
        await attacker.publishAsync(last.topic, JSON.stringify({ ...fresh, session: env.session + 5 }), { qos: 1 }); // unknown session
        await attacker.publishAsync(last.topic, last.raw, { qos: 1 }); // replay of an accepted v3 report
        await attacker.publishAsync(ann!.topic, ann!.raw, { qos: 1 }); // replay of the (v2) announcement
        await waitFor('the forgeries', () => desk.seen.slice(n).filter((s) => s.raw.includes(env.camera as string) && s.result !== 'ok').length >= 4);
        const refused = desk.seen.slice(n).filter((s) => s.result !== 'ok').map((s) => s.result);
        expect(refused).toEqual(expect.arrayContaining(['bad mac', 'unknown session', 'replay (duplicate)']));
        expect(refused.filter((r) => r.startsWith('replay'))).toHaveLength(2);
        expect(desk.swarm.coordinator.verifier.counts().byReason.bad_mac).toBe(1);
      } finally {
        await attacker.endAsync(true);
      }

      // The desktop restarts (same secret store and database): it re-publishes its key, the camera
      // opens a new session, and its v3 reports are accepted again.
      await desk.stop();
      desk = await startDesktop({ config, dbDir, secrets, camera });
      if (broker === 'embedded') await pointCameraAt(desk.svc.endpoint()!.port); // a new embedded broker, a new port
      await waitFor('v3 accepted after the restart', () => v3ok(desk).length >= 3);
      const s2 = desk.swarm.coordinator.verifier.sessionOf(identity.camera)!;
      expect(s2.session).toBeGreaterThan(broker === 'mosquitto' ? session1 : 0);
      // Nothing refused by the restarted desktop: the camera went back to v2 when the old one left
      // (it cleared its key), and opens its session only on this connection's key.
      expect(desk.seen.filter((s) => s.result !== 'ok')).toEqual([]);
      expect(desk.swarm.acceptanceOf(identity.camera).accepted).toBeGreaterThan(0);
      await desk.stop();
    }, 60_000);
  }
});
