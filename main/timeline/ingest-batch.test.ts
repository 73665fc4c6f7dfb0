// The timeline's batched ingest (what the swarm hands over per verified commit) tracks exactly as
// frame-by-frame ingest does, with the per-call upkeep (sweep, throttled tracks event) once per batch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCameraId } from '../../preload/contract';
import { createEventBus } from '../kernel/bus';
import { silentLogger } from '../kernel/logger';
import { openDatabase } from '../store';
import { createTimelineService } from './index';
import { seededRandom } from './rng';
import { affineCamera, box } from './testkit';
import type { Observation } from './tracker';

const camA = affineCamera(0);
const camB = affineCamera(8);
const [A, B, C] = [parseCameraId('A'), parseCameraId('B'), parseCameraId('C')];
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function service() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'timeline-batch-'));
  dirs.push(dir);
  let clock = 1_000_000;
  const { db } = openDatabase({ dir, now: () => clock });
  const bus = createEventBus();
  let published = 0;
  bus.subscribe('timeline.tracks', () => void published++);
  const svc = createTimelineService({ db, bus, log: silentLogger(), now: () => clock, random: seededRandom(7) });
  svc.setHomography(A, camA);
  svc.setHomography(B, camB);
  return { svc, published: () => published, advance: (ms: number) => (clock += ms) };
}

/** Two people crossing from A's view into B's, one of them pausing; 10 Hz from both cameras. */
function frames() {
  const out: { cameraId: typeof A; frameTimestamp: number; observations: Observation[] }[] = [];
  for (let k = 0; k < 80; k++) {
    const t = k * 0.1;
    const x1 = 2 + 1.4 * t;
    const x2 = k < 30 || k > 45 ? 11 - 0.8 * t : 11 - 0.8 * 3;
    for (const [cam, h] of [[A, camA], [B, camB]] as const) {
      const obs = [x1, x2].filter((x) => x >= h[2] && x <= h[2] + 12).map((x, i) => box(h, x, 3 + 4 * i));
      out.push({ cameraId: cam, frameTimestamp: 1000 * t, observations: obs });
    }
  }
  return out;
}

describe('timeline batched ingest', () => {
  it('tracks exactly as frame-by-frame ingest (same tracks, ids and states)', () => {
    const one = service();
    const many = service();
    const all = frames();
    for (const f of all) one.svc.ingest(f.cameraId, f.frameTimestamp, f.observations);
    for (let i = 0; i < all.length; i += 16) many.svc.ingestBatch(all.slice(i, i + 16));
    const a = one.svc.tracks(false).tracks;
    const b = many.svc.tracks(false).tracks;
    expect(a.length).toBeGreaterThanOrEqual(2);
    expect(b.map((t) => [t.id, t.x, t.y, t.confirmed])).toEqual(a.map((t) => [t.id, t.x, t.y, t.confirmed]));
  });

  it('counts only calibrated cameras, and publishes the tracks event at most once per batch', () => {
    const s = service();
    const all = frames().slice(0, 40);
    const r = s.svc.ingestBatch([...all, { cameraId: C, frameTimestamp: 0, observations: [box(camA, 1, 1)] }]);
    expect(r.accepted).toBe(all.length);
    expect(s.published()).toBe(1);
    expect(s.svc.ingestBatch(all.slice(0, 2)).accepted).toBe(2);
    expect(s.published()).toBe(1); // throttled: no wall time passed
    s.advance(1000);
    s.svc.ingestBatch(all.slice(2, 4));
    expect(s.published()).toBe(2);
    expect(s.svc.ingestBatch([{ cameraId: C, frameTimestamp: 0, observations: [] }])).toEqual({ accepted: 0, tracks: expect.any(Number) });
  });
});
