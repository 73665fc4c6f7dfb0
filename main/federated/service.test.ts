import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventPayload, MethodInput, MethodName, MethodOutput } from '../../preload/contract';
import { federatedMethods } from '../../preload/contract/federated';
import { createEventBus } from '../kernel/bus';
import type { Handler } from '../kernel/dispatcher';
import { silentLogger } from '../kernel/logger';
import { openDatabase, type Db } from '../store';
import { bytesToFloat32 } from './fl1';
import { HEAD_PARAMS, headV0, quantizerScale } from './fl-server';
import { createTestClient, type SilentAfter, type TestClient } from './testkit';
import { createFederatedService, type FederatedDeps } from './index';
import { createRng } from './random';
import { federatedStatements } from './statements';

const dirs: string[] = [];
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const SERIALS = Array.from({ length: 6 }, (_, i) => `ACCC8E0000${String(i + 10)}`);
/** Each camera's "training": a fixed step per coordinate, different per camera. */
const step = (i: number) => (g: Float32Array) => Float32Array.from(g, (v, k) => v + ((i + 1) * ((k % 5) - 2)) / 200);

function setup(over: Partial<FederatedDeps> & { silent?: Record<string, SilentAfter> } = {}, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-fed-'))) {
  dirs.push(dir);
  const { db } = openDatabase({ dir, now: () => 1000 });
  dbs.push(db);
  const bus = createEventBus();
  const events: EventPayload<'federated.round'>[] = [];
  bus.subscribe('federated.round', (e) => events.push(e));
  const audits: string[] = [];
  const published: { topic: string; payload: string }[] = [];
  const clients = new Map<string, TestClient>();
  const rng = createRng('svc-clients');
  let t = 0;
  const svc = createFederatedService({
    db,
    bus,
    log: silentLogger(),
    now: () => ++t,
    seed: 'svc',
    cameras: () => SERIALS,
    audit: { record: (a) => audits.push(a.message) },
    deadlines: { advertise: 1_500, shares: 1_500, masked: 1_500, unmask: 1_500 },
    publish: (topic, payload) => {
      published.push({ topic, payload });
      setImmediate(() => {
        for (const c of clients.values()) c.onMessage(topic, payload);
      });
      return true;
    },
    ...over,
  });
  SERIALS.forEach((serial, i) =>
    clients.set(
      serial,
      createTestClient({ serial, rng: rng.fork(serial), train: step(i), silentAfter: over.silent?.[serial], send: (body) => setImmediate(() => svc.receive(serial, JSON.parse(body))) }),
    ),
  );
  const call = async <M extends MethodName>(m: M, input: MethodInput<M>): Promise<MethodOutput<M>> => {
    const spec = (federatedMethods as Record<string, { input: { parse(v: unknown): unknown } }>)[m]!;
    return (svc.handlers[m] as Handler<M>)(spec.input.parse(input) as never, { transport: 'internal', peer: 'test' });
  };
  return { svc, call, events, audits, published, clients, dir };
}

describe('federated service (the desktop as the aggregation server)', () => {
  it('runs real rounds with the cameras, stores each result as a model version and continues from it', async () => {
    const { svc, call, events, published, clients } = setup();
    await call('federated.config.set', { clientsPerRound: 6 });
    expect(await call('federated.start', { rounds: 2 })).toMatchObject({ started: true, fromRound: 1, rounds: 2 });
    await svc.idle();
    const { rounds } = await call('federated.rounds', {});
    expect(rounds.map((r) => r.status)).toEqual(['completed', 'completed']);
    const [second, first] = rounds as [(typeof rounds)[0], (typeof rounds)[0]];
    expect(first.detail).toMatchObject({ fromVersion: 0, threshold: 4, advertised: SERIALS, shared: SERIALS, masked: SERIALS, failedAt: null });
    // Unmasking ends as soon as t answers are in and every secret can be rebuilt: at least t of the 6.
    expect(first.detail!.unmasked.length).toBeGreaterThanOrEqual(4);
    expect(SERIALS).toEqual(expect.arrayContaining(first.detail!.unmasked));
    expect(second.detail!.fromVersion).toBe(first.modelVersion);
    expect(first.participants).toEqual(SERIALS);

    const { models } = await call('federated.models', {});
    expect(models.map((m) => m.version)).toEqual([second.modelVersion, first.modelVersion]);
    expect(models[0]).toMatchObject({ name: 'omnisight.head.confirm.v1', classes: 1, features: 13, paramCount: 14, accuracy: null, loss: null, aggregation: 'secure' });
    // v1 = v0 + mean of the cameras' quantised steps; the announce of round 2 carries exactly v1.
    const v1 = bytesToFloat32(Buffer.from((await call('federated.model', { version: first.modelVersion!, withParameters: true })).parameters!, 'base64'));
    const scale = quantizerScale(4, 6);
    const v0 = headV0();
    for (let k = 0; k < HEAD_PARAMS; k++) {
      const mean = SERIALS.reduce((a, _, i) => a + Math.round((((i + 1) * ((k % 5) - 2)) / 200) * scale), 0) / scale / 6;
      expect(v1[k]).toBeCloseTo(v0[k]! + mean, 5);
    }
    await svc.prepare();
    const announces = published.filter((p) => p.topic === 'omnisight/desktop/fl/announce').map((p) => JSON.parse(p.payload));
    // Two rounds, and the third set up right after the second's result (from the second's model).
    expect(announces).toHaveLength(3);
    expect(announces[1].model.version).toBe(first.modelVersion);
    expect(announces[2].model.version).toBe(second.modelVersion);
    expect((await call('federated.status', {})).setup).toMatchObject({ state: 'ready', round: announces[2].round, cameras: 6 });
    expect(Buffer.from(announces[1].model.params, 'base64')).toEqual(Buffer.from(v1.buffer));
    const result = JSON.parse(published.find((p) => p.topic.endsWith('/result'))!.payload);
    expect(result.model.version).toBe(first.modelVersion);
    // The artifact a deploy ships is the head: 14 float32, named.
    expect(svc.modelArtifact(second.modelVersion!)).toMatchObject({ name: 'omnisight.head.confirm.v1', classes: 1, features: 13 });
    expect(svc.modelArtifact(second.modelVersion!)!.parameters.length).toBe(56);
    expect(events.map((e) => e.phase)).toEqual(expect.arrayContaining(['selected', 'training', 'aggregating', 'completed']));
    expect(clients.size).toBe(6);

    // The cameras report the new head's held-out metric: it becomes the model's metric.
    svc.heartbeat(SERIALS[0]!, { model: { name: 'omnisight.head.confirm.v1', version: second.modelVersion! }, head: { version: second.modelVersion!, heldOut: 100, logLoss: 0.4, accuracy: 0.8 } });
    svc.heartbeat(SERIALS[1]!, { model: { name: 'omnisight.head.confirm.v1', version: second.modelVersion! }, head: { version: second.modelVersion!, heldOut: 300, logLoss: 0.2, accuracy: 0.9 } });
    const m = await call('federated.model', { version: second.modelVersion!, withParameters: false });
    expect(m).toMatchObject({ metricCameras: 2, metricSamples: 400 });
    expect(m.accuracy).toBeCloseTo(0.875, 10);
    expect(m.loss).toBeCloseTo(0.25, 10);
  });

  it('a started round with one set up ahead runs only its critical path; a stale one is discarded and set up again', async () => {
    const { svc, call, published } = setup();
    await call('federated.config.set', { clientsPerRound: 6 });
    await svc.prepare();
    const st = await call('federated.status', {});
    expect(st.setup).toMatchObject({ state: 'ready', cameras: 6, k: 12, tk: 4 });
    expect(st.setup.setupMs).not.toBeNull();
    const heldId = st.setup.round!;
    const before = published.length;
    await call('federated.start', { rounds: 1 });
    await svc.idle();
    const after = published.slice(before).map((p) => p.topic.split('/').slice(4).join('/').replace(/^deliver\/.*/, 'deliver'));
    // go, unmask, result of the held round; the next round's setup starts once that result is out
    // and stored, on the next turn of the event loop (its announce is not part of this round).
    expect(after).toEqual(['go', 'unmask', 'result']);
    await new Promise((r) => setImmediate(r));
    expect(published.slice(before + 3).map((p) => p.topic)).toEqual(['omnisight/desktop/fl/announce']);
    expect(published[before]!.topic).toBe(`omnisight/desktop/fl/${heldId}/go`);
    const [r] = (await call('federated.rounds', {})).rounds;
    expect(r).toMatchObject({ status: 'completed', detail: { id: heldId, graph: { k: 12, tk: 4 } } });
    expect(r!.detail!.roundMs).toBeGreaterThanOrEqual(0);
    expect(r!.detail!.setupMs).toBeGreaterThanOrEqual(0);

    // A new model makes the set-up round stale: it is discarded (result ok:false) and set up again from v0.
    await svc.prepare();
    const stale = (await call('federated.status', {})).setup.round!;
    await call('federated.reset', {});
    await svc.prepare();
    const discarded = published.find((p) => p.topic === `omnisight/desktop/fl/${stale}/result`);
    expect(JSON.parse(discarded!.payload)).toMatchObject({ ok: false, reason: expect.stringMatching(/new model/) });
    const fresh = (await call('federated.status', {})).setup;
    expect(fresh.state).toBe('ready');
    expect(fresh.round).not.toBe(stale);
    const lastAnnounce = JSON.parse(published.filter((p) => p.topic.endsWith('/announce')).at(-1)!.payload);
    expect(lastAnnounce).toMatchObject({ round: fresh.round, model: { version: 0 } });
    // Changed training settings too.
    await call('federated.config.set', { localEpochs: 3 });
    expect((await call('federated.status', {})).setup.state).toBe('none');
    await svc.close();
  });

  it('a set-up round whose setupTtl runs out unused is discarded and set up again; one that expired is never started', async () => {
    let t = 10_000;
    const timers: { at: number; fn: () => void }[] = [];
    const clock = {
      now: () => t,
      after(ms: number, fn: () => void) {
        const timer = { at: t + ms, fn };
        timers.push(timer);
        return () => {
          const i = timers.indexOf(timer);
          if (i >= 0) timers.splice(i, 1);
        };
      },
    };
    const advance = (ms: number): void => {
      t += ms;
      for (const due of timers.filter((x) => x.at <= t)) {
        timers.splice(timers.indexOf(due), 1);
        due.fn();
      }
    };
    const { svc, call, published } = setup({ clock, setupTtl: 20_000 });
    await call('federated.config.set', { clientsPerRound: 6 });
    await svc.prepare();
    const first = (await call('federated.status', {})).setup;
    expect(first).toMatchObject({ state: 'ready', goBy: 10_000 + 20_000 - 5_000 });
    // The ttl passes unused: discarded (result ok:false to the cameras) and set up again.
    advance(15_001);
    await svc.prepare();
    const second = (await call('federated.status', {})).setup;
    expect(second.state).toBe('ready');
    expect(second.round).not.toBe(first.round);
    expect(JSON.parse(published.find((p) => p.topic === `omnisight/desktop/fl/${first.round}/result`)!.payload)).toMatchObject({ ok: false, reason: expect.stringMatching(/setup time ran out/) });
    // A start runs the fresh one: no announce between start and its go.
    const before = published.length;
    await call('federated.start', { rounds: 1 });
    await svc.idle();
    expect(published[before]!.topic).toBe(`omnisight/desktop/fl/${second.round}/go`);
    expect((await call('federated.rounds', {})).rounds[0]).toMatchObject({ status: 'completed', detail: { id: second.round } });
    await svc.close();
  });

  it('records a round that failed closed, with the phase and who answered, and audits it', async () => {
    const silent = Object.fromEntries(SERIALS.slice(0, 3).map((s) => [s, 'advertise' as SilentAfter]));
    const { svc, call, audits } = setup({ silent });
    await call('federated.config.set', { clientsPerRound: 6 });
    await call('federated.start', { rounds: 1 });
    await svc.idle();
    const [r] = (await call('federated.rounds', {})).rounds;
    expect(r).toMatchObject({ status: 'aborted', modelVersion: null, reason: expect.stringMatching(/shares step: 3 of the 6 selected cameras/) });
    expect(r!.detail).toMatchObject({ failedAt: 'shares', advertised: SERIALS, shared: SERIALS.slice(3) });
    expect((await call('federated.models', {})).models).toEqual([]);
    expect(audits[0]).toMatch(/shares step/);
  });

  it('offers only what fl2 does: no aggregation mode or DP setting exists, and a stored pre-fl2 configuration keeps its cameras per round', async () => {
    const { call, dir } = setup();
    // Robust modes and differential privacy are not settings any more: the contract refuses the fields.
    await expect(call('federated.config.set', { aggregation: 'krum' } as never)).rejects.toThrow(/aggregation|Unrecognized/i);
    await expect(call('federated.config.set', { dpEnabled: true } as never)).rejects.toThrow(/dpEnabled|Unrecognized/i);
    const st = await call('federated.status', {});
    expect(Object.keys(st.config).sort()).toEqual(['batchSize', 'clientsPerRound', 'learningRate', 'localEpochs']);
    expect(st.privacy).toMatchObject({ enabled: false, epsilon: null, level: 'off' });
    expect(st.privacy.note).toMatch(/never leave/);
    expect(st.reference).toBeNull();
    expect(st.aggregationNote).toMatch(/fl2.*only the sum/);
    expect(st.setup).toMatchObject({ state: 'none', round: null });
    // A configuration stored before fl2, with the old fields.
    federatedStatements(dbs.at(-1)!).saveConfig(JSON.stringify({ aggregation: 'krum', secureGraph: 'full', dpEnabled: true, clientsPerRound: 7, localEpochs: 2 }), 1);
    const again = setup({}, dir);
    expect((await again.call('federated.status', {})).config).toMatchObject({ clientsPerRound: 7, localEpochs: 2 });
    const offline = setup({ available: (s) => s === SERIALS[0] });
    await expect(offline.call('federated.start', { rounds: 1 })).rejects.toThrow(/at least 3 online cameras; 1 of 6/);
    const noBroker = setup({ publish: undefined });
    await expect(noBroker.call('federated.start', { rounds: 1 })).rejects.toThrow(/MQTT broker/);
  });

  it('sends each camera the outcomes of its detections, at most 500 per message and one epoch each', async () => {
    let fire: (() => void) | undefined;
    const { svc, published } = setup({ clock: { now: () => 0, after: (_ms, fn) => ((fire = fn), () => (fire = undefined)) } });
    const items = Array.from({ length: 700 }, (_, i) => ({ camera: SERIALS[0]!, epoch: 3, seq: 10 + i, index: i % 2, confirmed: i % 3 === 0 }));
    svc.outcomes([...items, { camera: SERIALS[1]!, epoch: 4, seq: 1, index: 0, confirmed: true }, { camera: SERIALS[1]!, epoch: 5, seq: 1, index: 0, confirmed: false }]);
    expect(published).toEqual([]); // batched: about once a second
    fire!();
    const sent = published.map((p) => ({ topic: p.topic, body: JSON.parse(p.payload) }));
    expect(sent.map((s) => [s.topic, s.body.epoch, s.body.items.length])).toEqual([
      [`omnisight/desktop/outcomes/${SERIALS[0]}`, 3, 500],
      [`omnisight/desktop/outcomes/${SERIALS[0]}`, 3, 200],
      [`omnisight/desktop/outcomes/${SERIALS[1]}`, 4, 1],
      [`omnisight/desktop/outcomes/${SERIALS[1]}`, 5, 1],
    ]);
    expect(sent[0]!.body).toMatchObject({ v: 1, items: expect.arrayContaining([{ seq: 10, index: 0, confirmed: true }]) });
    expect(Object.keys(sent[0]!.body.items[1])).toEqual(['seq', 'index', 'confirmed']);
  });

  it('continues the same model after a restart', async () => {
    const a = setup();
    await a.call('federated.config.set', { clientsPerRound: 6 });
    await a.call('federated.start', { rounds: 1 });
    await a.svc.idle();
    const v = (await a.call('federated.models', {})).models[0]!.version;
    await a.svc.close();
    const b = setup({}, a.dir);
    await b.call('federated.start', { rounds: 1 });
    await b.svc.idle();
    const [r2] = (await b.call('federated.rounds', {})).rounds;
    expect(r2).toMatchObject({ round: 2, status: 'completed' });
    expect(r2!.detail!.fromVersion).toBe(v);
  });
});
