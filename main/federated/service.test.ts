import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventPayload, MethodInput, MethodName, MethodOutput } from '../../preload/contract';
import { parseCameraId } from '../../preload/contract/camera-id';
import { createEventBus } from '../kernel/bus';
import type { Handler } from '../kernel/dispatcher';
import { AppError } from '../kernel/errors';
import { silentLogger } from '../kernel/logger';
import { openDatabase, type Db } from '../store';
import { createFederatedService, type FederatedDeps } from './index';
import { epsilonFromBudget } from './privacy';
import { federatedMethods } from '../../preload/contract/federated';

const dirs: string[] = [];
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(over: Partial<FederatedDeps> = {}, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-fed-'))) {
  dirs.push(dir);
  const { db } = openDatabase({ dir, now: () => 1000 });
  dbs.push(db);
  const bus = createEventBus();
  const events: EventPayload<'federated.round'>[] = [];
  bus.subscribe('federated.round', (e) => events.push(e));
  const audits: string[] = [];
  let t = 0;
  const svc = createFederatedService({
    db,
    bus,
    log: silentLogger(),
    now: () => ++t,
    seed: 'svc',
    cameras: () => Array.from({ length: 9 }, (_, i) => parseCameraId(`SIM-${i + 1}`)),
    task: { classes: 4, features: 8, samplesPerClient: 60, testSamples: 400 },
    audit: { record: (a) => audits.push(a.message) },
    dropout: () => undefined,
    ...over,
  });
  const call = async <M extends MethodName>(m: M, input: MethodInput<M>): Promise<MethodOutput<M>> => {
    const spec = (federatedMethods as Record<string, { input: { parse(v: unknown): unknown } }>)[m]!;
    return (svc.handlers[m] as Handler<M>)(spec.input.parse(input) as never, { transport: 'internal', peer: 'test' });
  };
  return { svc, call, events, audits, dir };
}

describe('federated service', () => {
  it('refuses robust aggregation together with differential privacy, with a message that says what to do', async () => {
    const { call } = setup();
    expect((await call('federated.config.get', {})).aggregation).toBe('secure');
    await call('federated.config.set', { dpEnabled: true });
    await expect(call('federated.config.set', { aggregation: 'krum' })).rejects.toThrow(/Switch aggregation to secure or plain/);
    await expect(call('federated.config.set', { aggregation: 'krum' })).rejects.toBeInstanceOf(AppError);
    expect((await call('federated.config.get', {})).aggregation).toBe('secure');
    const st = await call('federated.status', {});
    expect(st.aggregationNote).toMatch(/Secure aggregation is on/);
  });

  it('runs rounds in the background, stores models by hash and accounts ε per camera', async () => {
    const { svc, call, events } = setup();
    await call('federated.config.set', { dpEnabled: true, dpNoiseMultiplier: 2, dpClip: 1, clientsPerRound: 6 });
    const started = await call('federated.start', { rounds: 3 });
    expect(started).toEqual({ started: true, fromRound: 1, rounds: 3 });
    await expect(call('federated.start', { rounds: 1 })).rejects.toThrow(/already running/);
    await svc.idle();

    const { rounds } = await call('federated.rounds', {});
    expect(rounds.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    expect(rounds[0]!.participants).toHaveLength(6);
    expect(events.filter((e) => e.phase === 'completed')).toHaveLength(3);
    expect(events.some((e) => e.phase === 'training')).toBe(true);

    // ε for the camera that took part most often, from the RDP budget k/σ².
    const counts = new Map<string, number>();
    for (const r of rounds) for (const id of r.participants) counts.set(id, (counts.get(id) ?? 0) + 1);
    const k = Math.max(...counts.values());
    const st = await call('federated.status', {});
    expect(st.privacy.epsilon).toBeCloseTo(epsilonFromBudget(k / 4, 1e-5), 9);
    expect(st.privacy.perCamera).toBe(true);
    expect(st.privacy.level).toBe(st.privacy.epsilon! <= 10 ? 'moderate' : 'weak');

    const { models } = await call('federated.models', {});
    expect(models).toHaveLength(3);
    const m = await call('federated.model', { version: models[0]!.version, withParameters: true });
    const bytes = Buffer.from(m.parameters!, 'base64');
    expect(bytes.length).toBe(m.paramCount * 4);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.hash);
    await expect(call('federated.model', { version: 999 })).rejects.toThrow(/not found/);
  });

  it('says which masking graph a round really uses: the full graph on a small fleet, with the reason', async () => {
    // No dropout override: the service draws dropouts from measured loss, and these links have none.
    let online = 9;
    const { svc, call } = setup({ dropout: undefined, available: (id) => Number(id.slice(4)) <= online, linkHealth: () => 0.3, linkLoss: () => 0 });
    let note = (await call('federated.status', {})).aggregationNote;
    expect(note).toMatch(/^Secure aggregation is on \(SecAgg\+ is chosen but the full graph is used: with 9 cameras per round SecAgg\+ would give each camera 4·⌈log2 9⌉ \+ 2 = 18 neighbours, not fewer than the 8 other cameras/);
    expect(note).toMatch(/6 of 9 must answer at every step/);
    online = 5; // the round size follows the cameras online
    note = (await call('federated.status', {})).aggregationNote;
    expect(note).toMatch(/with 5 cameras per round .* = 14 neighbours, not fewer than the 4 other cameras.*4 of 5 must answer/);
    await call('federated.config.set', { secureGraph: 'full' });
    expect((await call('federated.status', {})).aggregationNote).toMatch(/^Secure aggregation is on \(full graph, each camera masks with every other; 4 of 5 must answer/);
    await call('federated.config.set', { secureGraph: 'secagg+' });
    online = 9;
    await call('federated.start', { rounds: 3 });
    await svc.idle();
    const { rounds } = await call('federated.rounds', {});
    expect(rounds.map((r) => [r.status, r.dropped.length])).toEqual([['completed', 0], ['completed', 0], ['completed', 0]]);
  });

  it('records an aborted round below quorum and audits it', async () => {
    const { svc, call, audits, events } = setup({ dropout: (id) => (['SIM-1', 'SIM-2', 'SIM-3', 'SIM-4'].includes(id) ? 'share' : undefined) });
    await call('federated.config.set', { clientsPerRound: 9 });
    await call('federated.start', { rounds: 1 });
    await svc.idle();
    const { rounds } = await call('federated.rounds', {});
    expect(rounds[0]!.status).toBe('aborted');
    expect(rounds[0]!.reason).toMatch(/5 of the cameras answered and at least 6 are needed/);
    expect(rounds[0]!.modelVersion).toBeNull();
    expect(audits).toHaveLength(1);
    expect(events.at(-1)!.phase).toBe('aborted');
    expect((await call('federated.models', {})).models).toHaveLength(0);
  });

  it('stops on request and continues the same model after a restart', async () => {
    const first = setup();
    await first.call('federated.start', { rounds: 50 });
    expect(await first.call('federated.stop', {})).toEqual({ stopped: true });
    await first.svc.idle();
    const done = (await first.call('federated.rounds', {})).rounds.length;
    expect(done).toBeLessThan(50);
    expect(first.events.at(-1)!.phase).toBe('stopped');
    await first.call('federated.start', { rounds: 2 });
    await first.svc.idle();
    const before = (await first.call('federated.models', {})).models[0]!;
    await first.svc.close();
    dbs.pop()!.close();

    dirs.pop();
    const second = setup({}, first.dir);
    const st = await second.call('federated.status', {});
    expect(st.lastRound).toBe(done + 2);
    expect(st.lineage).toBe(before.lineage);
    await second.call('federated.start', { rounds: 1 });
    await second.svc.idle();
    const after = (await second.call('federated.models', {})).models[0]!;
    expect(after.round).toBe(done + 3);
    expect(after.accuracy).toBeGreaterThan(0.25);
    const reset = await second.call('federated.reset', {});
    expect(reset.lineage).toBe(before.lineage + 1);
  });
});
