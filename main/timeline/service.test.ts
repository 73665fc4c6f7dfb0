import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCameraId, type AppNotification, type TimelineIntervention } from '../../preload/contract';
import { createEventBus } from '../kernel/bus';
import { silentLogger } from '../kernel/logger';
import { openDatabase, type Db } from '../store';
import type { Mat3 } from './homography';
import { createTimelineService } from './index';
import { seededRandom } from './rng';
import { affineCamera, box } from './testkit';
import { Tracker } from './tracker';

// Camera A sees ground x ∈ [0, 12], camera B x ∈ [8, 20]; both y ∈ [0, 10] (affine, u → x, v → y).
const camA = affineCamera(0);
const camB = affineCamera(8);
const inView = (h: Mat3, x: number): boolean => x >= h[2] && x <= h[2] + 12;
const [A, B] = [parseCameraId('A'), parseCameraId('B')];

describe('multi-camera tracker', () => {
  it('keeps one id through a camera hand-over and through missed detections', () => {
    const tracker = new Tracker();
    tracker.setCamera(A, camA);
    tracker.setCamera(B, camB);
    const ids = new Set<string>();
    for (let k = 0; k < 160; k++) {
      const t = k * 0.1;
      const x = 1 + 1.2 * t; // walks from x=1 to x≈20
      const missed = k >= 60 && k < 63; // both cameras lose it for 0.3 s in the overlap
      for (const [id, h, off] of [[A, camA, 0], [B, camB, 0.05]] as const) {
        const xt = 1 + 1.2 * (t + off);
        tracker.ingest(id, t + off, !missed && inView(h, xt) && xt < 19.9 ? [box(h, xt, 5)] : []);
      }
      for (const tr of tracker.tracks.values()) if (tr.confirmed) ids.add(tr.id);
      if (x > 19.5) break;
    }
    expect([...ids]).toEqual(['t1']);
    const tr = tracker.tracks.get('t1')!;
    expect(tr.cameras).toEqual(new Set(['A', 'B']));
    expect(tr.lastCamera).toBe('B');
    expect(tr.kf.x[2]!).toBeCloseTo(1.2, 1);
  });

  it('gates out a far outlier: it starts a tentative track instead of pulling the real one', () => {
    const tracker = new Tracker();
    tracker.setCamera(A, camA);
    for (let k = 0; k < 20; k++) tracker.ingest(A, k * 0.1, [box(camA, 2 + 0.12 * k, 5)]);
    const before = tracker.tracks.get('t1')!;
    const y0 = before.kf.x[1]!;
    tracker.ingest(A, 2.0, [box(camA, 2 + 0.12 * 20, 5), box(camA, 2 + 0.12 * 20, 9)]);
    expect(Math.abs(tracker.tracks.get('t1')!.kf.x[1]! - y0)).toBeLessThan(0.05);
    const others = [...tracker.tracks.values()].filter((t) => t.id !== 't1');
    expect(others).toHaveLength(1);
    expect(others[0]!.confirmed).toBe(false);
    // Tentative tracks die quickly when they are not seen again (hysteresis: 2 misses).
    tracker.ingest(A, 2.1, [box(camA, 2 + 0.12 * 21, 5)]);
    tracker.ingest(A, 2.2, [box(camA, 2 + 0.12 * 22, 5)]);
    expect([...tracker.tracks.keys()]).toEqual(['t1']);
  });
});

describe('timeline service', () => {
  let db: Db | undefined;
  afterEach(() => db?.close());

  const setup = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-timeline-'));
    db = openDatabase({ dir }).db;
    const bus = createEventBus();
    let wall = 0;
    const notes: AppNotification[] = [];
    const ivs: TimelineIntervention[] = [];
    let trackEvents = 0;
    bus.subscribe('app.notification', (n) => notes.push(n));
    bus.subscribe('timeline.intervention', (i) => ivs.push(i));
    bus.subscribe('timeline.tracks', () => trackEvents++);
    const svc = createTimelineService({ db, bus, log: silentLogger(), now: () => wall, random: seededRandom(1) });
    return { svc, notes, ivs, advance: (ms: number) => (wall += ms), trackEvents: () => trackEvents };
  };

  const zone = { id: 'gate', name: 'Gate', polygon: [{ x: 10, y: 3 }, { x: 12, y: 3 }, { x: 12, y: 7 }, { x: 10, y: 7 }], threshold: 0.5, reactionS: 2 };

  it('raises an intervention point with the right lead time for a track heading into a zone, not for one walking away', () => {
    const { svc, notes, ivs, advance } = setup();
    svc.setHomography(A, camA);
    svc.setZones([zone]);
    // Track 1 walks east toward the gate at 1.5 m/s along y=5; track 2 walks west, away from it, along y=2.
    for (let k = 0; k <= 30; k++) {
      const t = k * 0.1;
      advance(100);
      svc.ingest(A, 1000 * t, [box(camA, 1 + 1.5 * t, 5), box(camA, 7 - 1.0 * t, 1)]);
    }
    const found = svc.interventions();
    expect(found).toHaveLength(1);
    const iv = found[0]!;
    const toward = svc.tracks().tracks.find((t) => t.id === iv.trackId)!;
    expect(toward.y).toBeCloseTo(5, 0);
    // At t = 3 s it is at x = 5.5, 4.5 m (3 s) from the gate. The mean path reaches the edge at 3 s,
    // when P(entered) is still just under ½ (the 2 m-deep zone is narrower than the ±1.2 m spread
    // of a 3 s prediction); ½ is passed one or two 0.4 s steps later, and never before the mean arrives.
    expect(iv.leadTimeS).toBeGreaterThanOrEqual(3);
    expect(iv.leadTimeS).toBeLessThanOrEqual(4.4);
    expect(iv.probability).toBeGreaterThanOrEqual(0.5);
    expect(iv.actBy).toBe(iv.at - 2000);
    expect(ivs.map((i) => i.trackId)).toEqual([iv.trackId]); // announced once, not every tick
    expect(notes[0]!.title).toContain('Gate');
    // Every confirmed track carries 3–5 weighted futures of 12 steps.
    for (const t of svc.tracks().tracks) {
      expect(t.futures.length).toBeGreaterThanOrEqual(3);
      expect(t.futures.length).toBeLessThanOrEqual(5);
      expect(t.futures[0]!.points).toHaveLength(12);
    }
  });

  it('scores predictions once their horizon passes: ADE/FDE per camera and a Brier score', () => {
    const { svc, advance, trackEvents } = setup();
    svc.setHomography(A, camA);
    svc.setZones([zone]);
    for (let k = 0; k <= 100; k++) {
      advance(50); // 20 Hz wall clock against 10 Hz frames: the 5 Hz throttle must drop some events
      svc.ingest(A, 100 * k, [box(camA, 0.5 + 0.1 * k, 5)]);
    }
    const s = svc.stats();
    expect(s.overall.n).toBeGreaterThan(0);
    expect(s.perCamera.map((c) => c.cameraId)).toEqual(['A']);
    expect(s.overall.ade!).toBeLessThan(0.5); // a straight walk is easy
    expect(s.overall.brier).not.toBeNull();
    expect(s.overall.brier!).toBeLessThan(0.25);
    expect(s.switchMatrix).toHaveLength(4);
    expect(trackEvents()).toBeLessThanOrEqual(Math.ceil((101 * 50) / 200) + 1);
  });

  it('calibrates from four reference points and refuses collinear ones', async () => {
    const { svc } = setup();
    const pts = [
      { image: { u: 0.1, v: 0.9 }, ground: { x: 0, y: 0 } },
      { image: { u: 0.9, v: 0.9 }, ground: { x: 8, y: 0 } },
      { image: { u: 0.7, v: 0.4 }, ground: { x: 8, y: 12 } },
      { image: { u: 0.3, v: 0.4 }, ground: { x: 0, y: 12 } },
    ];
    const ok = await svc.handlers['timeline.calibration']!({ cameraId: parseCameraId('B8A44F7D507D'), points: pts }, { transport: 'internal', peer: 't' });
    expect(ok.source).toBe('reference-points');
    expect(ok.rmsErrorM!).toBeLessThan(1e-6);
    const line = pts.map((p, i) => ({ ...p, image: { u: 0.1 + 0.2 * i, v: 0.5 } }));
    expect(() => svc.handlers['timeline.calibration']!({ cameraId: parseCameraId('X'), points: line }, { transport: 'internal', peer: 't' })).toThrow(/one line/);
    expect(svc.ingest(parseCameraId('unknown'), 0, []).accepted).toBe(false);
  });

  /** A service over one data directory, opened again (the previous database closed) at each call: a restart. */
  const reopener = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-timeline-'));
    return () => {
      db?.close();
      db = openDatabase({ dir }).db;
      return createTimelineService({ db, bus: createEventBus(), log: silentLogger(), now: () => 0, random: seededRandom(1) });
    };
  };

  it('keeps a camera-supplied calibration with its source across a restart, under the camera id', async () => {
    const open = reopener();
    const cam1 = parseCameraId('cam_1');
    const pairs = [[0.1, 0.2], [0.9, 0.2], [0.9, 0.9], [0.1, 0.9], [0.5, 0.5]].map(([u, v]) => ({ image: { u: u!, v: v! }, ground: { x: 12 * u!, y: 10 * v! } }));
    open().calibrate(cam1, pairs, 'simulator');
    const again = open();
    const ctx = { transport: 'internal' as const, peer: 't' };
    expect(await again.handlers['timeline.calibration']!({ cameraId: cam1 }, ctx)).toMatchObject({ cameraId: 'cam_1', source: 'simulator' });
    const cams = await again.handlers['timeline.cameras']!({}, ctx);
    expect(cams).toEqual([{ cameraId: 'cam_1', source: 'simulator', rmsErrorM: 0, footprint: { minX: 0, minY: 0, maxX: 12, maxY: 10 }, detectionArea: null }]);
    expect(again.ingest(cam1, 0, []).accepted).toBe(true);
  });

  it('keeps the include area a camera gave across a restart and a recalibration by the user, and drops it when the camera gives none', async () => {
    const open = reopener();
    const cam = parseCameraId('cam_2');
    const pairs = [[0.1, 0.2], [0.9, 0.2], [0.9, 0.9], [0.1, 0.9]].map(([u, v]) => ({ image: { u: u!, v: v! }, ground: { x: 12 * u!, y: 10 * v! } }));
    const area = [{ u: 0, v: 0.4 }, { u: 1, v: 0.42 }, { u: 1, v: 1 }, { u: 0, v: 1 }];
    open().calibrate(cam, pairs, 'camera', area);
    const again = open();
    expect(again.includeAreaOf(cam)).toEqual(area);
    // On the ground (the map's "Detection areas"): the include area through the calibration (x = 12u, y = 10v).
    const listed = await again.handlers['timeline.cameras']!({}, { transport: 'internal', peer: 't' });
    expect(listed.find((c) => c.cameraId === cam)?.detectionArea).toEqual([{ x: 0, y: 4 }, { x: 12, y: 4.2 }, { x: 12, y: 10 }, { x: 0, y: 10 }]);
    // The user's reference points change the mapping, not where the camera's detector works.
    await again.handlers['timeline.calibration']!({ cameraId: cam, points: pairs.map((p) => ({ ...p, ground: { x: p.ground.x + 1, y: p.ground.y } })) }, { transport: 'internal', peer: 't' });
    expect(open().includeAreaOf(cam)).toEqual(area);
    const last = open();
    last.calibrate(cam, pairs, 'camera', null);
    expect(last.includeAreaOf(cam)).toBeUndefined();
    expect(open().includeAreaOf(cam)).toBeUndefined();
  });

  it('projects futures into a camera image through the inverse of its calibration', async () => {
    const { svc, advance } = setup();
    svc.setHomography(A, camA);
    svc.setHomography(B, camB);
    for (let k = 0; k <= 20; k++) {
      advance(100);
      svc.ingest(A, 100 * k, [box(camA, 1 + 1.0 * 0.1 * k, 5)]);
    }
    const ctx = { transport: 'internal' as const, peer: 't' };
    const a = await svc.handlers['timeline.futuresForCamera']!({ cameraId: A }, ctx);
    const track = svc.tracks().tracks[0]!;
    expect(a.calibrated).toBe(true);
    expect(a.paths).toHaveLength(track.futures.length);
    // First point: the track itself; then each future point mapped ground → image (u = x/12, v = y/10).
    for (const [i, p] of a.paths.entries()) {
      expect(p.points[0]![0]).toBeCloseTo(track.x / 12, 3);
      expect(p.points[0]![1]).toBeCloseTo(track.y / 10, 3);
      const f = track.futures[i]!;
      expect(p.weight).toBe(f.weight);
      expect(p.points[12]![0]).toBeCloseTo(f.points[11]!.x / 12, 3);
      expect(p.points[12]![1]).toBeCloseTo(f.points[11]!.y / 10, 3);
    }
    // Camera B (x from 8 m) sees the same track left of its frame; an unknown camera has nothing.
    const b = await svc.handlers['timeline.futuresForCamera']!({ cameraId: B }, ctx);
    expect(b.paths[0]!.points[0]![0]).toBeCloseTo((track.x - 8) / 12, 3);
    expect(await svc.handlers['timeline.futuresForCamera']!({ cameraId: parseCameraId('nope') }, ctx)).toMatchObject({ calibrated: false, paths: [] });

    // All three in one call (what the live grid asks): the same answers, once per camera asked.
    const all = await svc.handlers['timeline.futuresForCameras']!({ cameraIds: [A, B, parseCameraId('nope'), A] }, ctx);
    expect(all.cameras.map((c) => c.cameraId)).toEqual([A, B, 'nope']);
    expect(all.cameras[0]!.paths).toEqual(a.paths);
    expect(all.cameras[1]!.paths).toEqual(b.paths);
    expect(all.cameras[2]).toMatchObject({ calibrated: false, paths: [] });
    expect(all.at).toBe(a.at);
  });
});
