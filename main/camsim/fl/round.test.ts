// Interop: simulated cameras (their own fl2 client) against the desktop's aggregation server
// (main/federated, written independently) over the embedded MQTT broker on 127.0.0.1. The test
// plays the desktop's glue: it verifies every camera envelope with the key the camera shows on
// identity.cgi, labels detections on the outcomes topic, and hands verified fl bodies to the server.
// It also inspects every message the cameras publish: none carries their local data.
import { createPublicKey, verify } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlServer, headV0, type RoundReport } from '../../federated';
import { DESKTOP_USERNAME, startEmbeddedBroker, type EmbeddedBroker } from '../../mqtt';
import { startSimulatedFleet } from '../fleet';
import { curl } from '../testkit';
import type { SimFleet } from '../types';

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const ENVELOPE_KEYS = ['v', 'camera', 'epoch', 'seq', 'sent', 'kind', 'key', 'body', 'sig'];
const FL_BODY_KEYS: Record<string, string[]> = {
  advertise: ['round', 'phase', 'cPk', 'sPk'],
  decline: ['round', 'phase', 'reason'],
  shares: ['round', 'phase', 'boxes'],
  masked: ['round', 'phase', 'y'],
  unmask: ['round', 'phase', 'selfShares', 'keyShares'],
};

interface Published {
  topic: string;
  env: { v: number; camera: string; epoch: number; seq: number; sent: number; kind: string; key: string; body: string; sig: string };
}

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('fl2 round: simulated cameras against the desktop server over MQTT', () => {
  let broker: EmbeddedBroker;
  let fleet: SimFleet;
  let desktop: mqtt.MqttClient;
  const published: Published[] = [];
  const refusedEnvelopes: string[] = [];
  const keys = new Map<string, { id: string; pub: ReturnType<typeof createPublicKey> }>();
  const identity = async (i: number): Promise<{ key: string; publicKey: string; model: { version: number; samples: { train: number; heldOut: number }; heldOut: unknown } }> => {
    const c = fleet.cameras[i]!;
    const r = await curl(`${c.url}/local/omnisight/identity.cgi`, { user: c.username, pass: c.password });
    return JSON.parse(r.body.toString('utf8'));
  };
  let onFl: (serial: string, body: unknown) => void = () => undefined;

  beforeAll(async () => {
    const password = 'desktop-secret-for-this-test';
    broker = await startEmbeddedBroker({ desktopPassword: password });
    fleet = await startSimulatedFleet({ cameras: 4, seed: 21, broker: broker.url, lite: true, apps: 'agent' });
    for (let i = 0; i < fleet.cameras.length; i++) {
      const id = await identity(i);
      keys.set(fleet.cameras[i]!.serial, { id: id.key, pub: createPublicKey({ key: Buffer.concat([SPKI_ED25519, Buffer.from(id.publicKey, 'base64')]), format: 'der', type: 'spki' }) });
    }
    desktop = mqtt.connect(broker.url, { username: DESKTOP_USERNAME, password, clientId: 'desktop-test' });
    await new Promise<void>((resolve) => desktop.once('connect', () => resolve()));
    await desktop.subscribeAsync('axis/+/omnisight/#', { qos: 1 });
    // Outcomes: the test stands in for the swarm's fusion with a plain rule (the camera cannot tell).
    const outcomes = new Map<string, { epoch: number; items: { seq: number; index: number; confirmed: boolean }[] }>();
    desktop.on('message', (topic, payload) => {
      const env = JSON.parse(payload.toString('utf8')) as Published['env'];
      const m = /^axis\/([0-9A-F]{12})\/omnisight\/(detections|heartbeat|fl)$/.exec(topic);
      const k = m ? keys.get(m[1]!) : undefined;
      const input = ['omnisight.v2', env.camera, env.epoch, env.seq, env.sent, env.kind, env.key, env.body].join('\n');
      if (!m || !k || env.camera !== m[1] || env.kind !== m[2] || env.key !== k.id || !verify(null, Buffer.from(input, 'utf8'), k.pub, Buffer.from(env.sig, 'base64'))) {
        refusedEnvelopes.push(topic);
        return;
      }
      published.push({ topic, env });
      if (env.kind === 'fl') onFl(env.camera, JSON.parse(env.body));
      if (env.kind === 'detections') {
        const obs = (JSON.parse(env.body) as { frame: { observations: { class: { type: string; score: number } }[] } }).frame.observations;
        const o = outcomes.get(env.camera) ?? { epoch: env.epoch, items: [] };
        obs.forEach((x, index) => o.items.push({ seq: env.seq, index, confirmed: x.class.type !== 'Animal' && x.class.type !== 'Other' && x.class.score >= 0.55 }));
        outcomes.set(env.camera, o);
      }
    });
    const flush = setInterval(() => {
      for (const [serial, o] of outcomes) {
        if (o.items.length) desktop.publish(`omnisight/desktop/outcomes/${serial}`, JSON.stringify({ v: 1, epoch: o.epoch, items: o.items.splice(0, 500) }), { qos: 1 });
      }
    }, 300);
    flush.unref();
  }, 60_000);

  afterAll(async () => {
    await desktop?.endAsync();
    await fleet?.stop();
    await broker?.close();
  });

  it('runs a secure round with one camera dropping out after its shares; the cameras adopt the result and publish nothing of their data', async () => {
    await until('40 labelled training samples on every camera', async () => (await Promise.all(fleet.cameras.map((_, i) => identity(i)))).every((id) => id.model.samples.train >= 40), 40_000);
    const serials = fleet.cameras.map((c) => c.serial);
    const dropout = fleet.cameras[2]!;
    fleet.faults(dropout.id).flSilence('masked');

    const server = createFlServer({
      transport: { publish: (topic, payload) => void desktop.publish(topic, payload, { qos: 1 }) },
      clock: {
        now: Date.now,
        after: (ms, fn) => {
          const t = setTimeout(fn, ms);
          return () => clearTimeout(t);
        },
      },
    });
    onFl = (serial, body) => server.receive(serial, body);
    const v0 = headV0();
    const report: RoundReport = await server.run({
      round: 'camsim-interop-1',
      model: { version: 0, params: v0 },
      selected: serials,
      train: { epochs: 2, lr: 0.3, batchSize: 16 },
      range: 4,
      deadlines: { advertise: 4000, shares: 4000, masked: 4000, unmask: 4000 },
      minSamples: 30,
    });
    expect(report.refused).toEqual([]);
    expect(report.reason).toBeNull();
    expect(report.ok).toBe(true);
    expect(report.advertised.sort()).toEqual([...serials].sort());
    expect(report.dropped).toEqual([dropout.serial]);
    expect(report.masked.sort()).toEqual(serials.filter((s) => s !== dropout.serial).sort());
    // The new head moved from v0 by the survivors' mean update, as the exact sum says.
    const params = report.params!;
    for (let i = 0; i < 14; i++) expect(params[i]).toBeCloseTo(v0[i]! + report.sum![i]! / report.scale / report.masked.length, 5);
    expect(params.some((v, i) => Math.abs(v - v0[i]!) > 1e-3)).toBe(true);

    // Cameras adopt the result: identity.cgi and the heartbeat name version 1 (the dropout too: it heard the result).
    await until('every camera on head v1', async () => (await Promise.all(fleet.cameras.map((_, i) => identity(i)))).every((id) => id.model.version === 1), 10_000);
    await until('a heartbeat with head v1', () => published.some((p) => p.env.kind === 'heartbeat' && (JSON.parse(p.env.body) as { model?: { version?: number } }).model?.version === 1), 5000);

    // What the cameras published: only signed envelopes of three kinds; fl bodies with exactly the
    // protocol's fields; detections with exactly frame and stats; heartbeats with aggregates only.
    expect(refusedEnvelopes).toEqual([]);
    const fl = published.filter((p) => p.env.kind === 'fl');
    expect(fl.length).toBeGreaterThanOrEqual(4 * 3);
    for (const p of published) {
      expect(Object.keys(p.env).sort()).toEqual([...ENVELOPE_KEYS].sort());
      const body = JSON.parse(p.env.body) as Record<string, unknown>;
      if (p.env.kind === 'fl') expect(Object.keys(body).sort()).toEqual([...FL_BODY_KEYS[body.phase as string]!].sort());
      else if (p.env.kind === 'detections') expect(Object.keys(body).sort()).toEqual(['frame', 'stats']);
      else {
        expect(p.env.kind).toBe('heartbeat');
        expect(Object.keys(body).every((k) => ['app', 'version', 'uptime_s', 'fps_camera', 'fps_processed', 'fps_skipped', 'inference_ms', 'mem_bytes', 'model', 'head', 'detector'].includes(k))).toBe(true);
      }
    }
    // The dropout sent its advertise and shares, and nothing after.
    const dropped = fl.filter((p) => p.env.camera === dropout.serial).map((p) => (JSON.parse(p.env.body) as { phase: string }).phase);
    expect(dropped).toEqual(['advertise', 'shares']);
  }, 90_000);
});
