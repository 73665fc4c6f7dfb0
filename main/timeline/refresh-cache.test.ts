// The 5 Hz refresh recomputes futures only for tracks that changed since the last one and reuses
// the rest, and what it reuses equals a fresh computation.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCameraId } from '../../preload/contract';
import { createEventBus } from '../kernel/bus';
import { silentLogger } from '../kernel/logger';
import { openDatabase, type Db } from '../store';
import { predictFutures } from './imm';
import { createTimelineService } from './index';
import { seededRandom } from './rng';
import { affineCamera, box } from './testkit';

const camA = affineCamera(0);
const camF = affineCamera(100);
const [A, F] = [parseCameraId('A'), parseCameraId('F')];

describe('timeline refresh', () => {
  let db: Db | undefined;
  afterEach(() => db?.close());

  it('recomputes futures only for tracks updated since the last refresh, reusing equal ones for the rest', () => {
    db = openDatabase({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-timeline-')) }).db;
    const svc = createTimelineService({ db, bus: createEventBus(), log: silentLogger(), now: () => 0, random: seededRandom(1) });
    svc.setHomography(A, camA);
    svc.setHomography(F, camF);
    for (let k = 0; k < 10; k++) {
      svc.ingest(A, 100 * k, [box(camA, 2 + 0.1 * k, 5)]);
      svc.ingest(F, 100 * k + 1, [box(camF, 102 + 0.1 * k, 5)]);
    }
    const first = svc.tracks();
    expect(first.tracks).toHaveLength(2);
    const a = first.tracks.find((t) => t.x < 50)!;
    // From now on only F reports: A's walker is not updated (it coasts), F's is.
    for (let k = 10; k < 15; k++) {
      const before = { ...svc.futureWork };
      svc.ingest(F, 100 * k + 1, [box(camF, 102 + 0.1 * k, 5)]);
      const s = svc.tracks();
      expect(svc.futureWork.computed - before.computed).toBe(1); // F's track only
      expect(svc.futureWork.reused - before.reused).toBe(1); // A's track
      const shownA = s.tracks.find((t) => t.id === a.id)!;
      expect(shownA.futures).toEqual(a.futures);
      // What is reused equals a fresh computation from the track's IMM.
      const tr = svc.tracker.tracks.get(a.id)!;
      const fresh = predictFutures(tr.imm, { dt: 0.4, horizon: 12, count: 5 }).futures;
      expect(shownA.futures.map((f) => f.label)).toEqual(fresh.map((f) => f.label));
      shownA.futures.forEach((f, i) => f.points.forEach((p, j) => expect(p.x).toBeCloseTo(fresh[i]!.points[j]!.x, 3)));
      // Its shown position still moves with the newest frame (the filter predicted to it).
      expect(shownA.x).toBeGreaterThan(a.x);
    }
    // New zones invalidate every cached zone-entry curve.
    const before = svc.futureWork.computed;
    svc.setZones([{ id: 'z', name: 'Z', polygon: [{ x: 5, y: 3 }, { x: 7, y: 3 }, { x: 7, y: 7 }, { x: 5, y: 7 }], threshold: 0.5, reactionS: 1 }]);
    svc.tracks();
    expect(svc.futureWork.computed - before).toBe(2);
  });
});
