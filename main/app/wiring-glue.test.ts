import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { openDatabase } from '../store';
import { createSwarmService } from '../swarm';
import { sealEnvelope, simKey } from '../swarm/testkit';
import { parseCameraId, type CameraId } from '../../preload/contract/camera-id';
import { createEventBus } from '../kernel/bus';
import type { BrokerHealth } from '../mqtt';
import { linkBrokerHealth, linkQuarantineToFleet, linkSwarmMessagesToFleet, linkVerifiedTimeline, snapshotBySerial } from './wiring-glue';

const cams = ['B8A44F0000A1', 'B8A44F0000A2', 'B8A44F0000A3'];
const idOf = (i: number): CameraId => parseCameraId(`cam_00000000000${i + 1}`);
const zone = { id: 'gate', polygon: [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 1 }, { x: 0, y: 1 }] };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glue-'))) {
  dirs.push(dir);
  let clock = 1_795_000_000_000;
  const now = () => clock;
  const { db } = openDatabase({ dir, now });
  const bus = createEventBus();
  const audit = createAuditLog({ db, bus, now });
  const swarm = createSwarmService({ db, bus, log: pino({ level: 'silent' }), now, audit, zones: [zone], every: () => () => {} });
  for (const id of cams) swarm.registerCamera({ serial: id, keyId: simKey(id).keyId, publicKey: simKey(id).publicKey, coverage: { zones: ['gate'], toGround: (b) => ({ x: (b.left + b.right) / 2, y: (b.top + b.bottom) / 2 }) } });
  const ingested: { camera: CameraId; ts: number; cls: string[] }[] = [];
  const batches: number[] = [];
  const timeline = {
    ingestBatch: (frames: readonly { cameraId: CameraId; frameTimestamp: number; observations: readonly { class: { type: string } }[] }[]) => {
      batches.push(frames.length);
      for (const f of frames) ingested.push({ camera: f.cameraId, ts: f.frameTimestamp, cls: f.observations.map((o) => o.class.type) });
      return { accepted: frames.length, tracks: 0 };
    },
  };
  // The fleet's serial → camera id (ids unlike the serials, so a mix-up shows).
  const registered = new Map(cams.map((serial, i) => [serial, idOf(i)]));
  const offTimeline = linkVerifiedTimeline({ swarm, timeline, cameraOf: (s) => registered.get(s) });
  const quarantine = new Map<string, { since: number; reason: string }>();
  const fleet = { setQuarantine: (serial: string, q: { since: number; reason: string } | null) => void (q ? quarantine.set(serial, q) : quarantine.delete(serial)) };
  const offFleet = linkQuarantineToFleet({ swarm, fleet, bus });
  const seqs = new Map<string, number>();
  /** A detections report from `cam`, signed with `signer`'s key (a forgery when they differ). */
  const send = (cam: string, cls: string, opts: { signer?: string; trackId?: string; ts?: number } = {}) => {
    const seq = (seqs.get(cam) ?? 0) + 1;
    seqs.set(cam, seq);
    const ts = opts.ts ?? clock;
    const body = JSON.stringify({ frame: { timestamp: ts, observations: [{ bounding_box: { left: 0.4, top: 0.4, right: 0.5, bottom: 0.5 }, class: { type: cls, score: 0.9 }, track_id: opts.trackId ?? '1', timestamp: ts }] }, stats: { inference_ms: 20, fps_camera: 10, fps_processed: 10, fps_skipped: 0 } });
    const payload = Buffer.from(sealEnvelope({ camera: cam, seq, sent: clock, kind: 'detections', key: simKey(cam).keyId, body }, simKey(opts.signer ?? cam).privateKey));
    return swarm.ingest(payload, clock, `axis/${cam}/omnisight/detections`);
  };
  const call = (name: keyof typeof swarm.handlers, input: unknown): unknown => swarm.handlers[name]!(input as never, { transport: 'internal', peer: 'test' });
  return {
    swarm, bus, ingested, batches, quarantine, registered, send, call, dir,
    advance: (ms: number) => (clock += ms),
    close: () => {
      offTimeline();
      offFleet();
      swarm.close();
      db.close();
    },
  };
}

describe('verified detections → timeline', () => {
  it('passes a validly signed report and never a forged one (strict mode)', () => {
    const s = setup();
    expect(s.send(cams[0]!, 'Human').accepted).toBe(true);
    expect(s.ingested).toEqual([{ camera: idOf(0), ts: expect.any(Number), cls: ['Human'] }]);
    s.advance(50);
    const forged = s.send(cams[1]!, 'Car', { signer: cams[2] });
    expect(forged.accepted).toBe(false);
    expect(s.ingested.map((i) => i.cls[0])).toEqual(['Human']);
    s.close();
  });

  it('in permissive mode a forged report never reaches the timeline: the fleet only shows it, marked unverified', () => {
    const s = setup();
    s.call('swarm.setMode', { mode: 'permissive' });
    const toFleet: { serial: string; verified: boolean; kind: string }[] = [];
    const bad: string[] = [];
    const shown: string[] = [];
    const off = linkSwarmMessagesToFleet({
      swarm: s.swarm,
      fleet: { onCameraMessage: (m) => toFleet.push({ serial: m.serial, verified: m.verified, kind: m.kind }), onBadMessage: (b) => bad.push(b.reason), showDetections: (m) => shown.push(m.serial) },
    });
    const forged = s.send(cams[1]!, 'Car', { signer: cams[2] });
    expect(forged.accepted).toBe(false);
    expect(s.ingested).toEqual([]);
    s.send(cams[0]!, 'Human');
    expect(toFleet).toEqual([
      { serial: cams[1], verified: false, kind: 'detections' },
      { serial: cams[0], verified: true, kind: 'detections' },
    ]);
    // Shown as checked: only the report that passed every check (the forged one only marked, above).
    expect(shown).toEqual([cams[0]]);
    s.swarm.ingest('{"v":2', 1, `axis/${cams[0]}/omnisight/detections`);
    expect(bad).toEqual(['malformed']);
    off();
    s.close();
  });

  it('drops the equivocating report and everything after it from a quarantined camera, until release', () => {
    const s = setup();
    const ts = 1_795_000_000_000;
    s.send(cams[2]!, 'Human', { trackId: '9', ts });
    expect(s.ingested).toHaveLength(1);
    s.send(cams[2]!, 'Car', { trackId: '9', ts }); // same track and frame time, another class: equivocation
    expect(s.swarm.coordinator.fusion.isQuarantined(cams[2]!)).toBe(true);
    s.advance(100);
    expect(s.send(cams[2]!, 'Human', { trackId: '10' }).accepted).toBe(true); // verified, but quarantined
    expect(s.ingested).toHaveLength(1);
    s.call('swarm.release', { camera: cams[2] });
    s.advance(100);
    s.send(cams[2]!, 'Human', { trackId: '11' });
    expect(s.ingested).toHaveLength(2);
    s.close();
  });

  it('skips cameras the fleet has not registered, and stops after the unsubscribe', () => {
    const s = setup();
    s.registered.delete(cams[0]!);
    s.send(cams[0]!, 'Human');
    s.send(cams[1]!, 'Human');
    expect(s.ingested.map((i) => i.camera)).toEqual([idOf(1)]);
    s.close();
    expect(s.ingested).toHaveLength(1);
  });

  it('hands a verified batch to the timeline in one call, in order, without the refused reports', () => {
    const s = setup();
    const payload = (cam: string, seq: number, signer = cam) =>
      Buffer.from(sealEnvelope({ camera: cam, seq, sent: 1_000_000, kind: 'detections', key: simKey(cam).keyId, body: JSON.stringify({ frame: { timestamp: 1_000_000 + seq, observations: [] } }) }, simKey(signer).privateKey));
    const topic = (cam: string) => `axis/${cam}/omnisight/detections`;
    const r = s.swarm.ingestBatch([
      { payload: payload(cams[0]!, 1), receivedAt: 1_000_000, topic: topic(cams[0]!) },
      { payload: payload(cams[1]!, 1, cams[2]), receivedAt: 1_000_000, topic: topic(cams[1]!) }, // forged
      { payload: payload(cams[2]!, 1), receivedAt: 1_000_000, topic: topic(cams[2]!) },
      { payload: payload(cams[0]!, 2), receivedAt: 1_000_000, topic: topic(cams[0]!) },
    ]);
    expect(r.map((x) => x.accepted)).toEqual([true, false, true, true]);
    expect(s.batches).toEqual([3]);
    expect(s.ingested.map((i) => [i.camera, i.ts])).toEqual([[idOf(0), 1_000_001], [idOf(2), 1_000_001], [idOf(0), 1_000_002]]);
    s.close();
  });
});

describe('swarm quarantine → fleet status', () => {
  it('marks the camera with since and reason, clears it on release, and restores it after a restart', () => {
    const s = setup();
    const ts = 1_795_000_000_000;
    s.send(cams[1]!, 'Human', { trackId: '4', ts });
    s.send(cams[1]!, 'Car', { trackId: '4', ts });
    const q = s.quarantine.get(cams[1]!);
    expect(q?.since).toBe(ts);
    expect(q?.reason).toMatch(/\w/);
    expect([...s.quarantine.keys()]).toEqual([cams[1]]);
    s.close();

    const again = setup(s.dir); // same database: the quarantine is restored from the store
    expect(again.quarantine.get(cams[1]!)).toEqual(q);
    again.call('swarm.release', { camera: cams[1] });
    expect(again.quarantine.size).toBe(0);
    again.close();
  });
});

describe('event review snapshots', () => {
  it('takes a confirmer (a serial, as the swarm names it) from the camera the fleet maps it to', async () => {
    const asked: CameraId[] = [];
    const fleet = {
      cameraIdOf: (serial: string) => (serial === cams[0] ? idOf(0) : undefined),
      snapshot: async (id: CameraId) => (asked.push(id), Buffer.from([0xff, 0xd8])),
    };
    const take = snapshotBySerial(fleet);
    expect(await take(cams[0]!)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(asked).toEqual([idOf(0)]);
    await expect(take(cams[1]!)).rejects.toMatchObject({ code: 'not_found', message: `No camera ${cams[1]} is registered.` });
    expect(asked).toHaveLength(1);
  });
});

describe('embedded broker health', () => {
  it('goes to the clients on every change, with a notice only when the broker is back after a restart', () => {
    const listeners = new Set<(h: BrokerHealth, before: BrokerHealth | undefined) => void>();
    let health: BrokerHealth | undefined;
    const change = (h: BrokerHealth): void => {
      const before = health;
      health = h;
      for (const l of listeners) l(h, before);
    };
    const mqtt = { onBrokerState: (l: (h: BrokerHealth, before: BrokerHealth | undefined) => void) => (listeners.add(l), () => listeners.delete(l)) };
    const bus = createEventBus();
    const events: { topic: string; payload: unknown }[] = [];
    bus.subscribeAll((e) => events.push(e));
    let clock = 10_000;
    const off = linkBrokerHealth({ mqtt, bus, now: () => clock });

    change({ state: 'serving', restarts: 0 }); // the first start: no notice
    const down = { state: 'restarting', restarts: 0, attempt: 1, since: 20_000, lastError: 'thread exited (code 1)' } as const;
    change(down);
    change({ ...down, attempt: 2, lastError: 'port taken' });
    clock = 24_400;
    change({ state: 'serving', restarts: 1 });
    expect(events).toEqual([
      { topic: 'app.broker', payload: { state: 'serving', restarts: 0 } },
      { topic: 'app.broker', payload: down },
      { topic: 'app.broker', payload: { ...down, attempt: 2, lastError: 'port taken' } },
      { topic: 'app.broker', payload: { state: 'serving', restarts: 1 } },
      {
        topic: 'app.notification',
        payload: { title: 'Camera message broker is back', body: 'Restarted on the same port after 4 s; cameras publish to it again. Their reports sent while it was down are lost.', severity: 'info' },
      },
    ]);
    off();
    change(down);
    expect(events).toHaveLength(5);
  });
});
