// The pipelined group commit (SwarmService.submitBatch / submitChecked with a replay writer): a
// report is acted on only once its replay state is committed, a failed commit acts on nothing, and
// batches are acted on in the order they were submitted whatever order their commits finish in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { createEventBus } from '../kernel/bus';
import { openDatabase } from '../store';
import type { Zone } from './fusion';
import { createSwarmService, mergeReplay, type ReplayWriter } from './index';
import type { ReplayEntry } from './replay';
import { createReplayWriter, REPLAY_FILE } from './replay-writer';
import { sealEnvelope, simKey } from './sim/keys';

const zone: Zone = { id: 'gate', polygon: [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 1 }, { x: 0, y: 1 }] };
const cams = ['B8A44F000001', 'B8A44F000002', 'B8A44F000003', 'B8A44F000004'];
const T = 1_795_000_000_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A writer whose commits the test settles by hand, in any order. */
function handWriter() {
  const asked: { entries: ReplayEntry[]; durable: boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  const writer: ReplayWriter = {
    load: () => [],
    commit: (entries, durable) => new Promise<void>((resolve, reject) => void asked.push({ entries: [...entries], durable, resolve, reject })),
    commitSync: () => {
      throw new Error('not used here');
    },
    pending: () => asked.length,
    broken: () => gone,
    close: async () => undefined,
  };
  let gone: Error | undefined;
  return { writer, asked, kill: () => void (gone = new Error('the replay writer thread exited with code 1')) };
}

function setup(writer: ReplayWriter, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-pipe-'))) {
  dirs.push(dir);
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const audit = createAuditLog({ db, bus, now: () => T });
  const svc = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now: () => T, audit, zones: [zone], every: () => () => {}, replayWriter: writer });
  for (const id of cams) svc.registerCamera({ serial: id, keyId: simKey(id).keyId, publicKey: simKey(id).publicKey, coverage: { zones: ['gate'], toGround: (b) => ({ x: (b.left + b.right) / 2, y: (b.top + b.bottom) / 2 }) } });
  const seqs = new Map<string, number>();
  const report = (cam: string, cls = 'Human') => {
    const seq = (seqs.get(cam) ?? 0) + 1;
    seqs.set(cam, seq);
    const body = JSON.stringify({ frame: { timestamp: T, observations: [{ bounding_box: { left: 0.4, top: 0.4, right: 0.5, bottom: 0.5 }, class: { type: cls, score: 0.9 }, track_id: '1', timestamp: T }] } });
    return { payload: sealEnvelope({ camera: cam, seq, sent: T, kind: 'detections', key: simKey(cam).keyId, body }, simKey(cam).privateKey), receivedAt: T, topic: `axis/${cam}/omnisight/detections` };
  };
  const fused: string[] = [];
  const events: unknown[] = [];
  svc.onVerifiedDetections((serial) => fused.push(serial));
  bus.subscribe('swarm.event', (e) => events.push(e));
  return { svc, db, dir, report, fused, events, close: () => (svc.close(), db.close()) };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('pipelined group commit', () => {
  it('acts on nothing of a batch (no fusion, event, timeline or message) before its replay state is committed', async () => {
    const { writer, asked } = handWriter();
    const s = setup(writer);
    const messages: string[] = [];
    s.svc.onMessage((m) => messages.push(m.serial));
    const done = s.svc.submitBatch([s.report(cams[0]!), s.report(cams[1]!)]);
    await tick();
    await tick();
    expect(asked).toHaveLength(1);
    expect(asked[0]!.durable).toBe(true);
    expect(asked[0]!.entries.map((e) => [e.camera, e.highest])).toEqual([[cams[0], 1], [cams[1], 1]]);
    expect([s.fused, s.events, messages]).toEqual([[], [], []]);
    expect(s.svc.coordinator.fusion.openCandidates()).toBe(0);
    asked[0]!.resolve();
    const results = await done;
    expect(results.map((r) => r.accepted)).toEqual([true, true]);
    expect(s.fused).toEqual([cams[0], cams[1]]);
    expect(s.events).toHaveLength(1); // f + 1 = 2 cameras confirm
    s.close();
  });

  it("shows a checked report's boxes before its commit (onDetectionsShowable), and nothing else of it until the commit", async () => {
    const { writer, asked } = handWriter();
    const s = setup(writer);
    const shown: string[] = [];
    const messages: string[] = [];
    s.svc.onDetectionsShowable((m) => shown.push(`${m.serial}:${m.envelope.seq}:${m.verified}`));
    s.svc.onMessage((m) => messages.push(m.serial));
    const a = s.report(cams[0]!);
    const b = s.report(cams[1]!);
    // Signed with another camera's key: refused by the checks, so never shown.
    const forged = { ...s.report(cams[2]!), payload: sealEnvelope({ camera: cams[2]!, seq: 9, sent: T, kind: 'detections', key: simKey(cams[2]!).keyId, body: '{"frame":{"timestamp":1,"observations":[]}}' }, simKey(cams[3]!).privateKey) };
    const done = s.svc.submitBatch([a, b, forged]);
    // At once, in the submitting call: the two authentic reports, not the forged one.
    expect(shown).toEqual([`${cams[0]}:1:true`, `${cams[1]}:1:true`]);
    // A replay of an authentic report while its commit is pending: the replay window has it already.
    const again = s.svc.submitBatch([a]);
    expect(shown).toHaveLength(2);
    await tick();
    // Nothing acted on: no fusion, no event, no message, no acceptance counted.
    expect([s.fused, s.events, messages]).toEqual([[], [], []]);
    expect(s.svc.coordinator.fusion.openCandidates()).toBe(0);
    expect(s.svc.acceptanceOf(cams[0]!).accepted).toBe(0);
    for (const c of asked) c.resolve();
    expect((await done).map((r) => r.accepted)).toEqual([true, true, false]);
    expect((await again).map((r) => (r.accepted ? 'ok' : r.reason))).toEqual(['replay']);
    expect(s.fused).toEqual([cams[0], cams[1]]);
    expect(s.events).toHaveLength(1);
    expect(messages).toEqual([cams[0], cams[1]]);
    expect(shown).toHaveLength(2);
    s.close();
  });

  it('a failed commit fuses nothing of its batch; its replay state is written again with the next batch', async () => {
    const { writer, asked } = handWriter();
    const s = setup(writer);
    const failed = s.svc.submitBatch([s.report(cams[0]!), s.report(cams[1]!)]);
    await tick();
    asked[0]!.reject(new Error('disk full'));
    const rs = await failed;
    expect(rs.map((r) => (r.accepted ? 'ok' : r.label))).toEqual(['internal error', 'internal error']);
    expect([s.fused, s.events]).toEqual([[], []]);
    expect(s.svc.coordinator.fusion.openCandidates()).toBe(0);
    // The next batch carries the failed batch's entries too (they are still accepted in memory: a
    // replay of those reports stays refused, and now it is on disk).
    const next = s.svc.submitBatch([s.report(cams[2]!)]);
    await tick();
    expect(asked[1]!.entries.map((e) => e.camera).sort()).toEqual([cams[0], cams[1], cams[2]].sort());
    asked[1]!.resolve();
    expect((await next).map((r) => r.accepted)).toEqual([true]);
    expect(s.fused).toEqual([cams[2]]);
    s.close();
  });

  it('acts on batches in the order they were submitted, whatever order their commits finish in', async () => {
    const { writer, asked } = handWriter();
    const s = setup(writer);
    const order: number[] = [];
    const a = s.svc.submitBatch([s.report(cams[0]!)]).then(() => order.push(1));
    const b = s.svc.submitBatch([s.report(cams[0]!), s.report(cams[1]!)]).then(() => order.push(2));
    await tick();
    expect(s.svc.pendingBatches()).toBe(2);
    // swarm.status says so (the Swarm view shows it next to the ingest queue).
    const status = () => s.svc.handlers['swarm.status']!({}, { transport: 'internal', peer: 't' }) as { backlog: { pendingCommits: number } };
    expect(status().backlog.pendingCommits).toBe(2);
    asked[1]!.resolve(); // the later commit is done first: it still waits for the earlier batch
    await tick();
    await tick();
    expect(s.fused).toEqual([]);
    asked[0]!.resolve();
    await Promise.all([a, b]);
    expect(order).toEqual([1, 2]);
    expect(s.fused).toEqual([cams[0], cams[0], cams[1]]);
    expect(s.svc.pendingBatches()).toBe(0);
    expect(status().backlog.pendingCommits).toBe(0);
    s.close();
  });

  it('an fl-only batch is written behind: acted on after the batches before it, without waiting for its own commit', async () => {
    const { writer, asked } = handWriter();
    const s = setup(writer);
    const fl: string[] = [];
    s.svc.onVerifiedFl((m) => fl.push(m.serial));
    const body = JSON.stringify({ round: 'r1', phase: 'advertise', cPk: 'x', sPk: 'y' });
    let seq = 100;
    const flMsg = (cam: string) => ({ payload: sealEnvelope({ camera: cam, seq: ++seq, sent: T, kind: 'fl', key: simKey(cam).keyId, body }, simKey(cam).privateKey), receivedAt: T, topic: `axis/${cam}/omnisight/fl` });
    const detections = s.svc.submitBatch([s.report(cams[0]!)]);
    const flBatch = s.svc.submitBatch([flMsg(cams[1]!), flMsg(cams[2]!)]);
    await tick();
    expect(asked.map((a) => a.durable)).toEqual([true, false]);
    await tick();
    expect(fl).toEqual([]); // behind the detections batch, whose commit is pending
    asked[0]!.resolve();
    await detections;
    expect((await flBatch).map((r) => r.accepted)).toEqual([true, true]); // its own commit still pending
    expect(fl).toEqual([cams[1], cams[2]]);
    asked[1]!.resolve();
    s.close();
  });

  it('when the writer thread is gone, commits the replay state in the main database on this thread and goes on', async () => {
    const { writer, asked, kill } = handWriter();
    const s = setup(writer);
    kill();
    const rs = await s.svc.submitBatch([s.report(cams[0]!), s.report(cams[1]!)]);
    expect(rs.map((r) => r.accepted)).toEqual([true, true]);
    expect(asked).toHaveLength(0);
    expect(s.db.prepare('SELECT camera, highest FROM swarm_replay ORDER BY camera').all()).toEqual([{ camera: cams[0], highest: 1 }, { camera: cams[1], highest: 1 }]);
    expect(s.events).toHaveLength(1);
    const one = s.report(cams[2]!); // the synchronous form too
    expect(s.svc.ingest(one.payload, one.receivedAt, one.topic).accepted).toBe(true);
    expect(s.db.prepare('SELECT highest FROM swarm_replay WHERE camera = ?').get(cams[2])).toEqual({ highest: 1 });
    s.close();
  });

  it('with the real writer thread: every report is on disk when it is fused, and refused after a restart (also what the main database held from before)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-pipe-real-'));
    const file = path.join(dir, REPLAY_FILE);
    const entry = path.join(__dirname, 'replay-writer-worker.ts');
    const writer = createReplayWriter({ file, entry });
    const s = setup(writer, dir);
    // The previous version kept the replay state in the main database: camera 4 had accepted seq 1–7 there (window 0b1111111).
    s.db.prepare('INSERT INTO swarm_replay (camera, key, epoch, highest, window, updated_at) VALUES (?, ?, 1, 7, 127, 0)').run(cams[3], simKey(cams[3]!).keyId);
    const seen: [string, number | undefined][] = [];
    s.svc.onVerifiedDetections((serial) => {
      // Read by another connection at the moment the report is acted on, as a crash right now would leave it.
      const other = new Database(file, { readonly: true });
      const row = other.prepare('SELECT highest FROM swarm_replay WHERE camera = ?').get(serial) as { highest: number } | undefined;
      other.close();
      seen.push([serial, row?.highest]);
    });
    const first = [s.report(cams[0]!), s.report(cams[1]!), s.report(cams[0]!)];
    const results = await Promise.all([s.svc.submitBatch(first.slice(0, 2)), s.svc.submitBatch(first.slice(2))]);
    expect(results.flat().map((r) => r.accepted)).toEqual([true, true, true]);
    // Each report's own seq is on disk when it is acted on (the writer may have grouped both batches
    // in one commit, so the second report of camera 1 can already be there when its first is fused).
    expect(seen.map(([serial]) => serial)).toEqual([cams[0], cams[1], cams[0]]);
    [1, 1, 2].forEach((seq, i) => expect(seen[i]![1]).toBeGreaterThanOrEqual(seq));
    // The synchronous form with a writer blocks on the writer's commit (commitSync): on disk when it returns.
    const one = s.report(cams[2]!);
    expect(s.svc.ingest(one.payload, one.receivedAt, one.topic).accepted).toBe(true);
    expect(seen.at(-1)).toEqual([cams[2], 1]);
    s.close();
    await writer.close();

    const writer2 = createReplayWriter({ file, entry });
    const again = setup(writer2, dir);
    const replayed = await again.svc.submitBatch([...first, one]);
    expect(replayed.map((r) => (r.accepted ? 'ok' : r.label))).toEqual(['replay (duplicate)', 'replay (duplicate)', 'replay (duplicate)', 'replay (duplicate)']);
    // seq 1–7 of camera 4 were accepted by the previous version: refused; 8 is new.
    const four = [1, 2, 3, 4, 5, 6, 7, 8].map(() => again.report(cams[3]!));
    expect((await again.svc.submitBatch(four)).map((r) => r.accepted)).toEqual([false, false, false, false, false, false, false, true]);
    again.close();
    await writer2.close();
  });
});

describe('mergeReplay', () => {
  it('keeps the later state per camera and key: the higher epoch, else the higher seq', () => {
    const e = (camera: string, epoch: number, highest: number): ReplayEntry => ({ camera, key: 'k', epoch, highest, window: 1n });
    expect(mergeReplay([e('A', 2, 1), e('B', 1, 9), e('C', 1, 5)], [e('A', 1, 50), e('B', 1, 10), e('D', 1, 1)])).toEqual([e('A', 2, 1), e('B', 1, 10), e('C', 1, 5), e('D', 1, 1)]);
  });
});
