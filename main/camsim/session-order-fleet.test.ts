// A fresh fleet against real brokers (the desktop's embedded aedes, as `npm start` runs it, and
// Debian's mosquitto) and the real coordinator: no report is refused as "unknown session", counted
// from the swarm's refusal counters over several fresh fleets. The same fleet behind a proxy that
// delivers QoS 1 messages late (MQTT orders messages per topic only, so a broker may forward a QoS 1
// announcement after a QoS 0 report published behind it) shows the rule the agent follows: v3 only
// once the broker acknowledged the announcement (docs/protocol.md, "Envelope v3").
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { createEventBus } from '../kernel/bus';
import { createMqttService, type BrokerConfig } from '../mqtt';
import { openDatabase } from '../store';
import { createSwarmService, loadDesktopSessionKey, SESSION_KEY_TOPIC } from '../swarm';
import { startSimulatedFleet } from './index';
import { curl, delayQos1, freePort } from './testkit';
import { memorySecrets } from '../kernel/testkit';

const CAMERAS = 6;
const FLEETS = 3;

/**
 * One fresh fleet of CAMERAS against a fresh desktop (its MQTT client publishes the session key
 * retained on connect; the coordinator has every camera enrolled before it connects). Returns the
 * coordinator's refusals by reason once every camera had `v3` accepted v3 reports.
 */
async function freshFleet(o: { config: BrokerConfig; dir: string; seed: number; via?: (brokerPort: number) => Promise<{ port: number; close(): void }> }): Promise<{ byReason: Record<string, number>; v3: number; v2: number }> {
  const now = Date.now;
  const { db } = openDatabase({ dir: o.dir, now });
  const bus = createEventBus();
  const sessionKey = loadDesktopSessionKey(memorySecrets());
  const swarm = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now, audit: createAuditLog({ db, bus, now }), zones: [], every: () => () => undefined, sessionKey });
  const svc = createMqttService({ config: () => o.config, secrets: memorySecrets(), log: pino({ level: 'silent' }) });
  svc.retainOnConnect(SESSION_KEY_TOPIC, sessionKey.announcement());
  const v3By = new Map<string, number>();
  let v2 = 0;
  svc.onRaw((topic, payload, at) => {
    const r = swarm.ingest(payload, at, topic);
    if (!r.accepted || (r.kind !== 'detections' && r.kind !== 'heartbeat')) return;
    if ((JSON.parse(payload.toString()) as { v: number }).v === 3) v3By.set(r.camera, (v3By.get(r.camera) ?? 0) + 1);
    else v2++;
  });
  await svc.start();
  const brokerPort = svc.endpoint()!.port;
  const proxy = o.via ? await o.via(brokerPort) : undefined;
  const fleet = await startSimulatedFleet({ cameras: CAMERAS, seed: o.seed, apps: 'agent', broker: `mqtt://127.0.0.1:${proxy?.port ?? brokerPort}` });
  try {
    const ids = await Promise.all(
      fleet.cameras.map(async (c) => JSON.parse((await curl(`${c.url}/local/omnisight/identity.cgi`, { user: c.username, pass: c.password })).body.toString()) as { camera: string; key: string; publicKey: string }),
    );
    for (const id of ids) swarm.registerCamera({ serial: id.camera, keyId: id.key, publicKey: id.publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
    await Promise.all(
      fleet.cameras.map((c) => curl(`${c.url}/axis-cgi/mqtt/client.cgi`, { user: c.username, pass: c.password, data: JSON.stringify({ apiVersion: '1.0', method: 'activateClient' }) })),
    );
    // Wait on the reports themselves (no fixed sleep): every camera has sent v3 the coordinator took.
    await new Promise<void>((resolve, reject) => {
      const end = Date.now() + 30_000;
      const check = (): void => {
        if (ids.every((id) => (v3By.get(id.camera) ?? 0) >= 5)) resolve();
        else if (Date.now() > end) reject(new Error(`v3 accepted per camera: ${JSON.stringify([...v3By])}, refusals ${JSON.stringify(swarm.coordinator.verifier.counts().byReason)}`));
        else setTimeout(check, 50);
      };
      check();
    });
    return { byReason: { ...swarm.coordinator.verifier.counts().byReason }, v3: [...v3By.values()].reduce((a, b) => a + b, 0), v2 };
  } finally {
    await fleet.stop();
    proxy?.close();
    await svc.close();
    swarm.close();
    db.close();
  }
}

describe('a fresh fleet is never refused as "unknown session"', () => {
  let dir = '';
  let mosquitto: ChildProcess | undefined;
  let mosquittoPort = 0;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-session-order-'));
    mosquittoPort = await freePort();
    fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${mosquittoPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
  });
  afterAll(() => {
    mosquitto?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const broker of ['embedded', 'mosquitto'] as const)
    it(`${broker}: ${FLEETS} fresh fleets of ${CAMERAS} cameras, zero unknown-session refusals`, async () => {
      const config: BrokerConfig = broker === 'mosquitto' ? { mode: 'external', url: `mqtt://127.0.0.1:${mosquittoPort}`, username: '' } : { mode: 'embedded', url: '', username: '' };
      const unknown: number[] = [];
      for (let i = 0; i < FLEETS; i++) {
        const r = await freshFleet({ config, dir: path.join(dir, `${broker}-${i}`), seed: 40 + i });
        expect(r.v3).toBeGreaterThanOrEqual(5 * CAMERAS);
        unknown.push(r.byReason.unknown_session ?? -1);
      }
      expect(unknown).toEqual(unknown.map(() => 0));
    }, 120_000);

  it('behind a broker that forwards QoS 1 messages 300 ms late: reports stay v2 until the PUBACK, none refused', async () => {
    const r = await freshFleet({ config: { mode: 'embedded', url: '', username: '' }, dir: path.join(dir, 'late'), seed: 50, via: (port) => delayQos1(port, 300) });
    // Every camera went through v2 (the announcement was not yet acknowledged) to v3, and no v3
    // report reached the desktop before the session it names.
    expect(r.v2).toBeGreaterThanOrEqual(CAMERAS);
    expect(r.byReason.unknown_session).toBe(0);
  }, 60_000);
});
