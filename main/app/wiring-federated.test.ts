// fl2 over a real broker on 127.0.0.1, through the product path: the desktop's MQTT service (the
// embedded broker, the desktop's own login), the swarm's verification of every camera envelope,
// the federated service and the composition root's link. Cameras are separate MQTT clients that
// sign their messages (envelope v2, kind "fl"). Every payload the desktop's client received from
// the broker is kept as raw bytes and inspected: no plain update and no local data is in any of them.
import { createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { startSimulatedFleet } from '../camsim';
import { curl } from '../camsim/testkit';
import { createFederatedService } from '../federated';
import { createTestClient, type SilentAfter, type TestClient } from '../federated/testkit';
import { createEventBus } from '../kernel/bus';
import { silentLogger } from '../kernel/logger';
import type { SecretStore } from '../kernel/ports';
import { createMqttService } from '../mqtt';
import { openDatabase } from '../store';
import { createSwarmService, keyIdOf } from '../swarm';
import { sealEnvelope, simKey } from '../swarm/testkit';
import { linkFederated } from './wiring-federated';

const noSecrets: SecretStore = { protection: 'file-key', get: () => undefined, set: () => {}, delete: () => {} };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ENVELOPE_KEYS = ['body', 'camera', 'epoch', 'key', 'kind', 'sent', 'seq', 'sig', 'v'];
/** Exactly what each fl2 camera message may carry, and the byte size of each binary value. */
const FL_FIELDS: Record<string, string[]> = {
  advertise: ['cPk', 'phase', 'round', 'sPk'],
  decline: ['phase', 'reason', 'round'],
  shares: ['boxes', 'phase', 'round'],
  masked: ['phase', 'round', 'y'],
  unmask: ['keyShares', 'phase', 'round', 'selfShares'],
};

async function desktop() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-flwire-'));
  const log = silentLogger();
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const audit = createAuditLog({ db, bus, now: Date.now });
  const mqttSvc = createMqttService({ config: () => ({ mode: 'embedded', url: '', username: '' }), secrets: noSecrets, log });
  await mqttSvc.start();
  const swarm = createSwarmService({ db, bus, log, now: Date.now, audit, every: () => () => {} });
  const registered = new Set<string>();
  const federated = createFederatedService({
    db, bus, log, now: Date.now, seed: 'wire',
    publish: (t, p) => mqttSvc.publish(t, p),
    cameras: () => [...registered],
    deadlines: { advertise: 4_000, shares: 4_000, masked: 4_000, unmask: 4_000 },
    minSamples: 20,
  });
  // Every payload exactly as the broker delivered it to the desktop, then the one ingest seam.
  const raw: { topic: string; payload: Buffer }[] = [];
  const offRaw = mqttSvc.onRaw((topic, payload, receivedAt) => {
    raw.push({ topic, payload: Buffer.from(payload) });
    swarm.ingestBatch([{ topic, payload, receivedAt }]);
  });
  const offLink = linkFederated({ swarm, federated, isRegistered: (s) => registered.has(s) });
  const register = (serial: string, publicKey: string): void => {
    swarm.registerCamera({ serial, keyId: keyIdOf(publicKey), publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
    registered.add(serial);
  };
  const call = async <T,>(m: string, input: unknown): Promise<T> => ((federated.handlers as Record<string, unknown>)[m] as (i: unknown, c: unknown) => T)(input, { transport: 'internal', peer: 'test' });
  cleanups.push(async () => {
    offRaw();
    offLink();
    await federated.close();
    swarm.close();
    await mqttSvc.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const url = `mqtt://${mqttSvc.endpoint()!.host}:${mqttSvc.endpoint()!.port}`;
  return { url, raw, register, call, federated, swarm };
}

/** Checks every raw payload the desktop received: signed envelopes whose fl bodies hold only the protocol's fields, binary values of the protocol's sizes. */
function inspect(raw: { topic: string; payload: Buffer }[]): { phase: string; camera: string; body: Record<string, unknown> }[] {
  const fl: { phase: string; camera: string; body: Record<string, unknown> }[] = [];
  const b64len = (s: unknown): number => Buffer.from(String(s), 'base64').length;
  for (const r of raw) {
    const env = JSON.parse(r.payload.toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(env).sort()).toEqual(ENVELOPE_KEYS);
    if (env.kind !== 'fl') continue;
    expect(r.topic).toBe(`axis/${env.camera}/omnisight/fl`);
    const body = JSON.parse(env.body as string) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(FL_FIELDS[body.phase as string]);
    if (body.phase === 'advertise') expect([b64len(body.cPk), b64len(body.sPk)]).toEqual([32, 32]);
    if (body.phase === 'shares') for (const b of body.boxes as { to: string; box: string }[]) expect([Object.keys(b).sort(), b64len(b.box)]).toEqual([['box', 'to'], 100]);
    if (body.phase === 'masked') expect(b64len(body.y)).toBe(56);
    if (body.phase === 'unmask') for (const s of [...(body.selfShares as { y: string }[]), ...(body.keyShares as { y: string }[])]) expect(b64len(s.y)).toBe(32);
    fl.push({ phase: body.phase as string, camera: env.camera as string, body });
  }
  return fl;
}

describe('fl2 over MQTT through the product path', () => {
  it('runs a round with signed camera clients, keeps the sum exact with dropouts after shares and after masking, and the desktop receives nothing but masked data', async () => {
    const d = await desktop();
    const serials = Array.from({ length: 7 }, (_, i) => `ACCC8E0001${String(i + 10)}`);
    const silent: Record<string, SilentAfter> = { [serials[1]!]: 'shares', [serials[4]!]: 'masked' };
    const clients = new Map<string, TestClient>();
    for (const [i, serial] of serials.entries()) {
      const key = simKey(serial);
      d.register(serial, key.publicKey);
      const conn = await mqtt.connectAsync(d.url, { reconnectPeriod: 0 });
      cleanups.push(() => conn.endAsync(true));
      let seq = 0;
      const client = createTestClient({
        serial,
        silentAfter: silent[serial],
        train: (g) => Float32Array.from(g, (v, k) => v + ((i + 1) * (k - 6)) / 300),
        send: (body) => {
          const env = sealEnvelope({ camera: serial, epoch: 1, seq: ++seq, sent: Date.now(), kind: 'fl', key: key.keyId, body }, key.privateKey);
          conn.publish(`axis/${serial}/omnisight/fl`, env, { qos: 1 });
        },
      });
      clients.set(serial, client);
      conn.on('message', (topic, payload) => client.onMessage(topic, payload.toString('utf8')));
      await conn.subscribeAsync(['omnisight/desktop/fl/announce', 'omnisight/desktop/fl/+/roster', `omnisight/desktop/fl/+/deliver/${serial}`, 'omnisight/desktop/fl/+/go', 'omnisight/desktop/fl/+/unmask', 'omnisight/desktop/fl/+/result'], { qos: 1 });
    }
    // A forger (no key recorded) and a camera posing as another are refused by the swarm: they change nothing.
    const forger = await mqtt.connectAsync(d.url, { reconnectPeriod: 0 });
    cleanups.push(() => forger.endAsync(true));

    await d.call('federated.config.set', { clientsPerRound: 7 });
    await d.call('federated.start', { rounds: 1 });
    const roundId = await new Promise<string>((resolve) => {
      const t = setInterval(() => {
        const adv = d.raw.find((r) => r.topic.endsWith('/fl'));
        if (adv) {
          clearInterval(t);
          resolve(JSON.parse(JSON.parse(adv.payload.toString()).body).round);
        }
      }, 20);
    });
    const evil = simKey('FFFFFFFFFFFF');
    forger.publish(`axis/${serials[0]}/omnisight/fl`, sealEnvelope({ camera: serials[0]!, epoch: 9, seq: 1, sent: Date.now(), kind: 'fl', key: simKey(serials[0]!).keyId, body: JSON.stringify({ round: roundId, phase: 'decline', reason: 'forged' }) }, evil.privateKey), { qos: 1 });
    await d.federated.idle();

    const [round] = (await d.call<{ rounds: { status: string; dropped: string[]; participants: string[]; modelVersion: number | null; detail: { unmasked: string[]; declined: unknown[] } }[] }>('federated.rounds', { limit: 1 })).rounds;
    expect(round).toMatchObject({ status: 'completed', dropped: [serials[1]] });
    expect(round!.detail.declined).toEqual([]); // the forged decline never reached the server
    const survivors = serials.filter((s) => s !== serials[1]);
    expect(round!.participants).toEqual(survivors);
    expect(round!.detail.unmasked).toEqual(survivors.filter((s) => s !== serials[4]));
    // Exact: the stored model is float32(v0 + Σq/s/|U3|), Σ over the survivors' own quantised updates,
    // computed in double as the server does: one quantum off in any client's update fails it.
    const model = await d.call<{ parameters: string }>('federated.model', { version: round!.modelVersion, withParameters: true });
    const params = new Float32Array(Uint8Array.from(Buffer.from(model.parameters, 'base64')).buffer);
    const scale = Math.floor((2 ** 31 - 1) / (4 * 7));
    const sum = Array.from({ length: 14 }, (_, k) => survivors.reduce((a, s) => (a + clients.get(s)!.lastQ()![k]!) | 0, 0));
    const v0 = [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2];
    for (let k = 0; k < 14; k++) expect(params[k]).toBe(Math.fround(v0[k]! + sum[k]! / scale / survivors.length));

    // Every message the desktop received: only the protocol's fields; no camera's quantised update
    // appears in any payload, in bytes or in base64; each masked y differs from its q everywhere.
    const fl = inspect(d.raw);
    expect(fl.filter((m) => m.phase === 'masked').map((m) => m.camera).sort()).toEqual(survivors);
    const text = Buffer.concat(d.raw.map((r) => r.payload));
    for (const [serial, c] of clients) {
      const q = c.lastQ();
      if (!q) continue;
      const qb = Buffer.from(q.buffer, q.byteOffset, q.byteLength);
      expect(text.indexOf(qb)).toBe(-1);
      expect(text.indexOf(qb.toString('base64').slice(0, 40))).toBe(-1);
      const y = c.lastY()!;
      expect(y.filter((v, i) => v === q[i]).length, serial).toBe(0);
    }
    expect(d.raw.some((r) => r.payload.toString().includes('forged'))).toBe(true); // it did arrive, and was refused
  }, 60_000);

  it('interop: the simulator’s own fl2 client (simulated cameras, their own data) completes a round through the product path', async () => {
    const d = await desktop();
    const sim = await startSimulatedFleet({ cameras: 4, seed: 31, broker: d.url, lite: true, apps: 'agent' });
    cleanups.push(() => sim.stop());
    const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
    for (const c of sim.cameras) {
      const id = JSON.parse((await curl(`${c.url}/local/omnisight/identity.cgi`, { user: c.username, pass: c.password })).body.toString()) as { publicKey: string };
      createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(id.publicKey, 'base64')]), format: 'der', type: 'spki' });
      d.register(c.serial, id.publicKey);
    }
    // The cameras label their detections from the desktop's outcomes (real fusion: with no zone set,
    // every detection is reported as not confirmed) and need 20 labelled samples to take part.
    const identity = async (i: number) => JSON.parse((await curl(`${sim.cameras[i]!.url}/local/omnisight/identity.cgi`, { user: sim.cameras[i]!.username, pass: sim.cameras[i]!.password })).body.toString()) as { model: { version: number; samples: { train: number } } };
    const end = Date.now() + 40_000;
    while (!(await Promise.all(sim.cameras.map((_, i) => identity(i)))).every((id) => id.model.samples.train >= 20)) {
      if (Date.now() > end) throw new Error('the simulated cameras did not collect 20 labelled samples');
      await new Promise((r) => setTimeout(r, 200));
    }
    await d.call('federated.config.set', { clientsPerRound: 4 });
    await d.call('federated.start', { rounds: 1 });
    await d.federated.idle();
    const [round] = (await d.call<{ rounds: { status: string; reason: string | null; participants: string[]; modelVersion: number | null; detail: { refused: unknown[] } }[] }>('federated.rounds', { limit: 1 })).rounds;
    expect(round!.detail.refused).toEqual([]);
    expect(round).toMatchObject({ status: 'completed', reason: null });
    expect(round!.participants).toEqual(sim.cameras.map((c) => c.serial).sort());
    const fl = inspect(d.raw);
    expect(new Set(fl.map((m) => m.phase))).toEqual(new Set(['advertise', 'shares', 'masked', 'unmask']));
    // The cameras adopt the result and report its version in their heartbeats.
    const end2 = Date.now() + 10_000;
    while (!(await Promise.all(sim.cameras.map((_, i) => identity(i)))).every((id) => id.model.version === round!.modelVersion)) {
      if (Date.now() > end2) throw new Error('the cameras did not adopt the new head');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 90_000);
});
