import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { createEventBus, type AnyEvent } from '../kernel/bus';
import { openDatabase } from '../store';
import type { Zone } from './fusion';
import { createCoordinator } from './coordinator';
import { createSwarmService } from './index';
import { sealEnvelope, simKey } from './sim/keys';

const zone: Zone = { id: 'gate', polygon: [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 1 }, { x: 0, y: 1 }] };
const cams = ['B8A44F000001', 'B8A44F000002', 'B8A44F000003', 'B8A44F000004'];
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-'))) {
  dirs.push(dir);
  let clock = 1_795_000_000_000;
  const now = () => clock;
  const { db } = openDatabase({ dir, now });
  const bus = createEventBus();
  const events: AnyEvent[] = [];
  bus.subscribeAll((e) => events.push(e));
  const audit = createAuditLog({ db, bus, now });
  const svc = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now, audit, zones: [zone], every: () => () => {} });
  for (const id of cams) svc.registerCamera({ serial: id, keyId: simKey(id).keyId, publicKey: simKey(id).publicKey, coverage: { zones: ['gate'], toGround: (b) => ({ x: (b.left + b.right) / 2, y: (b.top + b.bottom) / 2 }) } });
  const seqs = new Map<string, number>();
  /** A detections report from `cam`; signed by `signer`'s key instead of its own when given (a forgery). */
  const send = (cam: string, cls: string, trackId = '1', ts = clock, signer = cam) => {
    const seq = (seqs.get(cam) ?? 0) + 1;
    seqs.set(cam, seq);
    const body = JSON.stringify({ frame: { timestamp: ts, observations: [{ bounding_box: { left: 0.4, top: 0.4, right: 0.5, bottom: 0.5 }, class: { type: cls, score: 0.9 }, track_id: trackId, timestamp: ts }] }, stats: { inference_ms: 20, fps_camera: 10, fps_processed: 10, fps_skipped: 0 } });
    return svc.ingest(Buffer.from(sealEnvelope({ camera: cam, seq, sent: clock, kind: 'detections', key: simKey(cam).keyId, body }, simKey(signer).privateKey)), clock, `axis/${cam}/omnisight/detections`);
  };
  /** Any message from `cam` in boot epoch `epoch`, signed by `signer` (a forgery when it is not `cam`). */
  const seal = (cam: string, o: { epoch: number; seq: number; kind?: 'detections' | 'heartbeat'; version?: string; signer?: string }) => {
    const kind = o.kind ?? 'heartbeat';
    const body =
      kind === 'heartbeat'
        ? JSON.stringify({ app: 'omnisight', version: o.version ?? '1.2.0', uptime_s: 1, fps_camera: 10, fps_processed: 10, fps_skipped: 0, inference_ms: 9 })
        : JSON.stringify({ frame: { timestamp: clock, observations: [] } });
    return sealEnvelope({ camera: cam, epoch: o.epoch, seq: o.seq, sent: clock, kind, key: simKey(cam).keyId, body }, simKey(o.signer ?? cam).privateKey);
  };
  const call = <T>(name: keyof typeof svc.handlers, input: unknown): T => (svc.handlers[name] as (i: unknown, c: unknown) => T)(input, { transport: 'internal', peer: 'test' });
  return { svc, db, dir, events, send, seal, call, now, advance: (ms: number) => (clock += ms), close: () => { svc.close(); db.close(); } };
}

describe('swarm service', () => {
  it('confirms an event from signed reports, stores it, and pages it through swarm.events', () => {
    const s = setup();
    expect(s.send(cams[0]!, 'Human').accepted).toBe(true);
    s.advance(100);
    s.send(cams[1]!, 'Human');
    const pushed = s.events.filter((e) => e.topic === 'swarm.event');
    expect(pushed).toHaveLength(1);
    const page = s.call<{ events: { confirmers: string[]; zone: string }[]; total: number }>('swarm.events', { limit: 10 });
    expect(page.total).toBe(1);
    expect(page.events[0]!.confirmers.sort()).toEqual([cams[0], cams[1]]);
    s.close();
  });

  it('a tick closes events written behind (no fsync on this thread), stored and pushed as before', () => {
    const s = setup();
    s.send(cams[0]!, 'Human');
    s.advance(100);
    s.send(cams[1]!, 'Human');
    // Every pragma the service issues from here on: a durable commit keeps synchronous = FULL, a
    // commit written behind lowers it to NORMAL for its transaction (statements.writtenBehind).
    const pragmas: string[] = [];
    const pragma = s.db.pragma.bind(s.db);
    s.db.pragma = ((src: string, o?: { simple?: boolean }) => (pragmas.push(src), pragma(src, o))) as typeof s.db.pragma;
    s.advance(60_000); // far past the fusion window: the open event closes on the next tick
    s.svc.tick();
    const closed = s.events.filter((e) => e.topic === 'swarm.event' && (e.payload as { closed: boolean }).closed);
    expect(closed).toHaveLength(1);
    expect(pragmas).toContain('synchronous = NORMAL');
    s.db.pragma = pragma;
    expect(s.db.pragma('synchronous', { simple: true })).toBe(2); // FULL again for everything else
    const page = s.call<{ events: { closed: boolean }[] }>('swarm.events', { limit: 10 });
    expect(page.events[0]!.closed).toBe(true);
    s.close();
  });

  it('quarantines an equivocating camera with proof, audits it, survives a restart, and releases on request', () => {
    const s = setup();
    s.send(cams[2]!, 'Human', '9');
    s.send(cams[2]!, 'Car', '9'); // same track, same frame time, another class
    const status = s.call<{ quarantined: { camera: string; first: string; second: string }[]; graph: { nodes: { id: string; status: string }[] } }>('swarm.status', {});
    expect(status.quarantined.map((q) => q.camera)).toEqual([cams[2]]);
    expect(JSON.parse(status.quarantined[0]!.first).sig).toMatch(/==$/);
    expect(s.events.some((e) => e.topic === 'audit.recorded' && e.payload.kind === 'swarm.quarantined')).toBe(true);
    expect(s.events.some((e) => e.topic === 'app.notification')).toBe(true);
    const insights = s.call<{ patterns: { kind: string }[] }>('swarm.insights', { recent: 10 });
    expect(insights.patterns.map((p) => p.kind)).toContain('camera_quarantined');
    // Its reports were accepted, and what a deploy's verification reads says they count for nothing.
    expect(s.svc.acceptanceOf(cams[2]!)).toMatchObject({ accepted: 2, quarantined: { reason: expect.any(String), at: expect.any(Number) } });
    expect(s.svc.acceptanceOf(cams[0]!).quarantined).toBeUndefined();
    s.svc.close();
    s.db.close();

    const again = setup(s.dir);
    expect(again.svc.coordinator.fusion.isQuarantined(cams[2]!)).toBe(true);
    again.svc.tick();
    expect(again.svc.coordinator.topology.graph().nodes.find((n) => n.id === cams[2])!.status).toBe('quarantined');
    expect(again.call<{ released: boolean }>('swarm.release', { camera: cams[2] }).released).toBe(true);
    expect(again.svc.acceptanceOf(cams[2]!).quarantined).toBeUndefined();
    expect(() => again.call('swarm.release', { camera: cams[2] })).toThrow(/not quarantined/);
    again.close();
  });

  it('setMode persists; in every mode a forged report is refused and counted', () => {
    const s = setup();
    const forged = () =>
      s.svc.ingest(sealEnvelope({ camera: cams[0]!, seq: 77, sent: Date.now(), kind: 'heartbeat', key: simKey(cams[0]!).keyId, body: JSON.stringify({ app: 'omnisight', version: '1', uptime_s: 1, fps_camera: 10, fps_processed: 10, fps_skipped: 0, inference_ms: 9 }) }, simKey('forger').privateKey), Date.now());
    expect(forged().accepted).toBe(false);
    expect(s.call<{ mode: string }>('swarm.setMode', { mode: 'permissive' }).mode).toBe('permissive');
    expect((s.db.prepare("SELECT value FROM swarm_state WHERE key = 'mode'").get() as { value: string }).value).toBe('permissive');
    expect(forged().accepted).toBe(false);
    s.call('swarm.setMode', { mode: 'audit' });
    expect(forged().accepted).toBe(false);
    const st = s.call<{ rejected: { total: number; byReason: Record<string, number> }; accepted: number }>('swarm.status', {});
    expect(st.rejected.byReason.bad_signature).toBe(3);
    expect(st.accepted).toBe(0);
    s.close();
  });

  describe.each(['strict', 'permissive', 'audit'] as const)('in %s mode, an unverified report counts for nothing', (mode) => {
    it('two reports signed with an attacker key under honest serials confirm nothing', () => {
      const s = setup();
      s.call('swarm.setMode', { mode });
      const shown: unknown[] = [];
      s.svc.onMessage((m) => shown.push(m.verified));
      const timeline: string[] = [];
      s.svc.onVerifiedDetections((serial) => timeline.push(serial));
      for (const cam of [cams[0]!, cams[1]!]) expect(s.send(cam, 'Human', '5', s.now(), 'attacker').accepted).toBe(false);
      expect(s.events.filter((e) => e.topic === 'swarm.event')).toHaveLength(0);
      expect(s.call<{ total: number }>('swarm.events', { limit: 10 }).total).toBe(0);
      expect(timeline).toEqual([]);
      // Permissive shows them (marked unverified), the others show nothing.
      expect(shown).toEqual(mode === 'permissive' ? [false, false] : []);
      // Honest reports still confirm afterwards.
      s.send(cams[2]!, 'Human', '5');
      s.send(cams[3]!, 'Human', '5');
      expect(s.events.filter((e) => e.topic === 'swarm.event')).toHaveLength(1);
      s.close();
    });

    it('a forged contradiction (one honest report, one not) cannot quarantine the honest camera', () => {
      const s = setup();
      s.call('swarm.setMode', { mode });
      const ts = s.now();
      expect(s.send(cams[1]!, 'Human', '9', ts).accepted).toBe(true);
      expect(s.send(cams[1]!, 'Car', '9', ts, 'attacker').accepted).toBe(false);
      expect(s.svc.coordinator.fusion.isQuarantined(cams[1]!)).toBe(false);
      expect(s.call<{ quarantined: unknown[] }>('swarm.status', {}).quarantined).toEqual([]);
      // The refusal is recorded, in audit mode with the message itself.
      const rows = s.db.prepare("SELECT detail FROM audit_events WHERE kind = 'swarm.rejected'").all() as { detail: string }[];
      expect(rows).toHaveLength(1);
      expect(rows[0]!.detail.includes('"payload"')).toBe(mode === 'audit');
      s.close();
    });
  });

  it('refuses after a desktop restart what it accepted before, accepts a restarted camera at once, refuses its old epoch', () => {
    const s = setup();
    const cam = cams[0]!;
    const m1 = s.seal(cam, { epoch: 7, seq: 41 });
    const m2 = s.seal(cam, { epoch: 7, seq: 42 });
    expect(s.svc.ingest(m1, s.now(), `axis/${cam}/omnisight/heartbeat`).accepted).toBe(true);
    // Committed by the time ingest returns: another connection (as after a crash) already sees it.
    const other = openDatabase({ dir: s.dir }).db;
    expect(other.prepare('SELECT epoch, highest FROM swarm_replay WHERE camera = ?').get(cam)).toEqual({ epoch: 7, highest: 41 });
    other.close();
    expect(s.svc.ingestBatch([{ payload: m2, receivedAt: s.now() }])[0]!.accepted).toBe(true);
    s.svc.close();
    s.db.close();

    const again = setup(s.dir);
    for (const m of [m1, m2]) {
      const r = again.svc.ingest(m, again.now());
      expect(r.accepted ? 'accepted' : r.label).toBe('replay (duplicate)');
    }
    expect(again.svc.ingest(again.seal(cam, { epoch: 7, seq: 43 }), again.now()).accepted).toBe(true); // the same boot goes on
    expect(again.svc.ingest(again.seal(cam, { epoch: 8, seq: 1 }), again.now()).accepted).toBe(true); // the camera restarted
    const old = again.svc.ingest(again.seal(cam, { epoch: 7, seq: 44 }), again.now());
    expect(old.accepted ? 'accepted' : old.label).toBe('replay (old epoch)');
    again.close();
  });

  it('ingestBatch verifies a batch, writes its replay state once, and returns results in order', () => {
    const s = setup();
    const cam = cams[1]!;
    const batch = [1, 2, 2, 3].map((seq) => ({ payload: s.seal(cam, { epoch: 1, seq }), receivedAt: s.now() }));
    const rs = s.svc.ingestBatch(batch);
    expect(rs.map((r) => (r.accepted ? 'ok' : r.label))).toEqual(['ok', 'ok', 'replay (duplicate)', 'ok']);
    expect(s.db.prepare('SELECT epoch, highest, updated_at AS at FROM swarm_replay WHERE camera = ?').all(cam)).toEqual([{ epoch: 1, highest: 3, at: s.now() }]);
    s.close();
  });

  it('acceptanceOf: key, epoch and version of what was accepted, when, and the last refusal', () => {
    const s = setup();
    const cam = cams[2]!;
    expect(s.svc.acceptanceOf(cam)).toEqual({ serial: cam, accepted: 0, refused: 0 });
    const t0 = s.now();
    s.svc.ingest(s.seal(cam, { epoch: 3, seq: 1, version: '1.2.0' }), s.now());
    s.advance(1000);
    s.svc.ingest(s.seal(cam, { epoch: 3, seq: 2, kind: 'detections' }), s.now());
    expect(s.svc.acceptanceOf(cam)).toEqual({ serial: cam, key: simKey(cam).keyId, epoch: 3, version: '1.2.0', firstAcceptedAt: t0, lastAcceptedAt: t0 + 1000, accepted: 2, refused: 0 });
    // A forged message and a replay: refused, with the reason; nothing accepted changes.
    s.advance(1000);
    s.svc.ingest(s.seal(cam, { epoch: 3, seq: 3, signer: 'attacker' }), s.now());
    expect(s.svc.acceptanceOf(cam)).toMatchObject({ accepted: 2, refused: 1, lastRefusal: { reason: 'bad signature', at: t0 + 2000 }, lastAcceptedAt: t0 + 1000 });
    s.svc.ingest(s.seal(cam, { epoch: 2, seq: 9 }), s.now());
    expect(s.svc.acceptanceOf(cam).lastRefusal).toEqual({ reason: 'replay (old epoch)', at: t0 + 2000 });
    // After a deploy: a new boot; the version is known from its first heartbeat, and counts from then.
    s.advance(1000);
    s.svc.ingest(s.seal(cam, { epoch: 4, seq: 1, kind: 'detections' }), s.now());
    expect(s.svc.acceptanceOf(cam)).toMatchObject({ epoch: 4, version: undefined, firstAcceptedAt: t0 + 3000 });
    s.advance(1000);
    s.svc.ingest(s.seal(cam, { epoch: 4, seq: 2, version: '1.3.0' }), s.now());
    expect(s.svc.acceptanceOf(cam)).toMatchObject({ epoch: 4, version: '1.3.0', firstAcceptedAt: t0 + 4000, lastAcceptedAt: t0 + 4000, accepted: 4, refused: 2 });
    // A report signed with another key than the recorded one.
    const rotated = sealEnvelope({ camera: cam, epoch: 4, seq: 3, sent: s.now(), kind: 'heartbeat', key: simKey('new-key').keyId, body: JSON.stringify({ app: 'omnisight', version: '1.3.0', uptime_s: 1, fps_camera: 10, fps_processed: 10, fps_skipped: 0, inference_ms: 9 }) }, simKey('new-key').privateKey);
    s.svc.ingest(rotated, s.now());
    expect(s.svc.acceptanceOf(cam).lastRefusal?.reason).toBe('unknown key');
    s.close();
  });

  it('swarm.setZones validates, persists across a restart, audits, and tells listeners', () => {
    const s = setup();
    let told = 0;
    s.svc.onZonesChanged(() => told++);
    const zones = [{ id: 'north', name: 'North gate', polygon: [{ x: 0, y: 0 }, { x: 4, y: 0 }, { x: 4, y: 4 }], cameras: [cams[0]!] }];
    expect(s.call<{ source: string }>('swarm.zones', {}).source).toBe('none');
    const out = s.call<{ zones: { id: string }[]; source: string }>('swarm.setZones', { zones });
    expect(out).toEqual({ zones, source: 'user' });
    expect(told).toBe(1);
    expect(s.svc.coordinator.fusion.zones().map((z) => z.zone)).toEqual(['north']);
    expect(s.events.some((e) => e.topic === 'swarm.zones')).toBe(true);
    expect(s.events.some((e) => e.topic === 'audit.recorded' && e.payload.kind === 'swarm.zones')).toBe(true);
    s.svc.close();
    s.db.close();
    const again = setup(s.dir);
    expect(again.call<{ zones: unknown[]; source: string }>('swarm.zones', {})).toEqual({ zones, source: 'user' });
    expect(again.svc.coordinator.fusion.zones().map((z) => z.zone)).toEqual(['north']);
    again.close();
  });
});

describe('federated-learning messages (envelope kind "fl")', () => {
  it('hands only verified fl bodies to onVerifiedFl, never to onMessage, and refuses forgeries and replays', () => {
    const s = setup();
    const fl: unknown[] = [];
    const other: unknown[] = [];
    s.svc.onVerifiedFl((m) => fl.push([m.serial, m.body]));
    s.svc.onMessage((m) => other.push(m));
    const cam = cams[0]!;
    const body = JSON.stringify({ round: 'r1', phase: 'advertise', cPk: 'x', sPk: 'y' });
    const msg = (seq: number, signer = cam, kind: 'fl' | 'heartbeat' = 'fl') =>
      sealEnvelope({ camera: cam, epoch: 2, seq, sent: s.now(), kind, key: simKey(cam).keyId, body }, simKey(signer).privateKey);
    expect(s.svc.ingest(msg(1), s.now(), `axis/${cam}/omnisight/fl`)).toMatchObject({ accepted: true, kind: 'fl' });
    expect(fl).toEqual([[cam, { round: 'r1', phase: 'advertise', cPk: 'x', sPk: 'y' }]]);
    expect(other).toEqual([]);
    // A replay, a forgery, a topic of another kind: refused, nothing handed on.
    expect(s.svc.ingest(msg(1), s.now(), `axis/${cam}/omnisight/fl`)).toMatchObject({ accepted: false, reason: expect.stringMatching(/replay/) });
    expect(s.svc.ingest(msg(2, cams[1]), s.now(), `axis/${cam}/omnisight/fl`)).toMatchObject({ accepted: false, reason: 'bad_signature' });
    expect(s.svc.ingest(msg(3), s.now(), `axis/${cam}/omnisight/heartbeat`)).toMatchObject({ accepted: false, reason: 'topic_mismatch' });
    expect(fl).toHaveLength(1);
    s.close();
  });

  it('writes the replay state of an fl-only batch behind (no fsync), and of any batch with another kind or a forged fl claim durably', () => {
    const t0 = 1_795_000_000_000;
    const durable: boolean[] = [];
    const coord = createCoordinator({
      now: () => t0,
      keys: { get: (id) => ({ keyId: simKey(id).keyId, publicKey: simKey(id).publicKey }) },
      fusion: { zones: [zone], windowMs: 1_500 },
      transaction: (fn, d) => {
        durable.push(d);
        return fn();
      },
    });
    const body = JSON.stringify({ round: 'r1', phase: 'advertise', cPk: 'x', sPk: 'y' });
    const hb = JSON.stringify({ app: 'omnisight', version: '1', uptime_s: 1, fps_camera: 10, fps_processed: 10, fps_skipped: 0, inference_ms: 9 });
    let seq = 0;
    const fl = (cam: string) => ({ payload: sealEnvelope({ camera: cam, epoch: 1, seq: ++seq, sent: t0, kind: 'fl', key: simKey(cam).keyId, body }, simKey(cam).privateKey), receivedAt: t0, topic: `axis/${cam}/omnisight/fl` });
    const heartbeat = (cam: string) => ({ payload: sealEnvelope({ camera: cam, epoch: 1, seq: ++seq, sent: t0, kind: 'heartbeat', key: simKey(cam).keyId, body: hb }, simKey(cam).privateKey), receivedAt: t0, topic: `axis/${cam}/omnisight/heartbeat` });
    expect(coord.ingestBatch([fl(cams[0]!), fl(cams[1]!)]).map((r) => r.accepted)).toEqual([true, true]);
    expect(coord.ingestBatch([fl(cams[0]!), heartbeat(cams[1]!)]).map((r) => r.accepted)).toEqual([true, true]);
    // A heartbeat envelope published on an fl topic claims no fl kind: durable (and refused).
    const hbOnFlTopic = { ...heartbeat(cams[2]!), topic: `axis/${cams[2]!}/omnisight/fl` };
    expect(coord.ingestBatch([fl(cams[0]!), hbOnFlTopic]).map((r) => r.accepted)).toEqual([true, false]);
    // A forged fl message (another camera's key) passes the claim but is refused: it advances nothing.
    const forged = { ...fl(cams[3]!), payload: sealEnvelope({ camera: cams[3]!, epoch: 1, seq: ++seq, sent: t0, kind: 'fl', key: simKey(cams[3]!).keyId, body }, simKey(cams[0]!).privateKey) };
    expect(coord.ingestBatch([forged]).map((r) => r.accepted)).toEqual([false]);
    expect(durable).toEqual([false, true, true, false]);
  });
});
