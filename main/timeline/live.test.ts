// The live path end to end through the composition root: the simulated fleet publishes signed
// detections over MQTT, main reads each camera's true calibration over VAPIX (calibration.cgi)
// at registration, and the timeline turns the detections into ground tracks whose positions match
// the simulator's ground truth and whose ids hold while people cross between overlapping views.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../app';
import { createEventBus } from '../kernel/bus';
import { silentLogger } from '../kernel/logger';
import { createFileKeySecretStore } from '../app';
import { inProcessHelper } from '../fleet';
import { createSettingsService } from '../settings';
import { openDatabase } from '../store';
import { pointInPolygon } from './zones';

const log = silentLogger();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-timeline-live-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('timeline fed by the simulated fleet over MQTT', () => {
  it('calibrates from calibration.cgi and tracks people across cameras at their true positions', async () => {
    {
      const { db } = openDatabase({ dir });
      createSettingsService({ db, bus: createEventBus(), log, now: Date.now }).set({ demoFleet: true, demoCameraCount: 3 });
      db.close();
    }
    const app = createApp({
      mode: 'browser',
      dataDir: dir,
      log,
      secretStore: (d) => createFileKeySecretStore(d, dir),
      notifier: { notify: () => undefined },
      launchHelper: inProcessHelper(),
    });
    try {
      await app.fleet.ready;
      const cams = app.fleet.fleet.registry.list();
      expect(cams).toHaveLength(3);
      // Through the dispatcher, so inputs and outputs are checked against the contract.
      const call = async <T>(method: string, input: unknown): Promise<T> => {
        const r = await app.dispatcher.dispatch(method, input, { transport: 'internal', peer: 'test' });
        if (!r.ok) throw new Error(`${method}: ${r.error.message}`);
        return r.value as T;
      };
      // Every camera's calibration arrives over VAPIX and is stored with its source, under the
      // camera's id (its detections, signed under its serial, are mapped to that id by the fleet).
      expect(cams.every((c) => c.id !== c.serial)).toBe(true);
      await until(() => cams.every((c) => app.timeline.tracker.cameras.has(c.id)), 15_000);
      const listed = await call<{ cameraId: string; source: string; rmsErrorM: number }[]>('timeline.cameras', {});
      expect(listed.map((c) => c.cameraId).sort()).toEqual(cams.map((c) => c.id).sort());
      for (const c of listed) {
        expect(c.source).toBe('simulator');
        expect(c.rmsErrorM).toBeLessThan(1e-3); // exact pairs from the true homography
      }
      // Asked by the camera id, answered under the same id.
      const byId = await call<{ cameraId: string; source: string }>('timeline.calibration', { cameraId: cams[0]!.id });
      expect(byId).toMatchObject({ cameraId: cams[0]!.id, source: 'simulator' });

      const scene = app.fleet.demo()!.scene;
      // Each camera said where in its image it detects (its include area, over VAPIX with the
      // calibration), so the swarm counts a camera for exactly the zones the simulator detects it in:
      // not for every zone its homography reaches up to the horizon.
      expect(cams.every((c) => (app.timeline.includeAreaOf(c.id)?.length ?? 0) >= 3)).toBe(true);
      const demo = app.fleet.demo()!;
      const serialOf = new Map(demo.cameras.map((c) => [c.id, c.serial]));
      // The truth, from the simulator's own camera model on a 0.5 m grid: the share of each zone
      // that is in a camera's frame and within its detection range (its detector's rule).
      const share = (cal: (typeof scene.cameras)[number], polygon: readonly (readonly [number, number])[]): number => {
        const poly = polygon.map(([x, y]) => ({ x, y }));
        let all = 0;
        let seen = 0;
        for (let x = 0; x <= scene.width; x += 0.5)
          for (let y = 0; y <= scene.height; y += 0.5) {
            if (!pointInPolygon(x, y, poly)) continue;
            all++;
            const p = scene.project(cal.cameraId, x, y, 0);
            if (p && p.u >= 0 && p.u <= 1 && p.v >= 0 && p.v <= 1 && Math.hypot(x - cal.position.x, y - cal.position.y) <= cal.maxRangeM) seen++;
          }
        return all ? seen / all : 0;
      };
      const status = await call<{ zones: { zone: string; covering: string[] }[] }>('swarm.status', {});
      let claims = 0;
      for (const z of scene.zones) {
        const covering = status.zones.find((s) => s.zone === z.id)?.covering ?? [];
        for (const cal of scene.cameras) {
          const s = share(cal, z.polygon);
          const serial = serialOf.get(cal.cameraId)!;
          // Clear cases both ways (the rule is a quarter of the zone; near it, either answer is fair).
          if (s >= 0.3) expect(covering, `${z.id}: ${cal.cameraId} sees ${(s * 100).toFixed(0)} % of it`).toContain(serial);
          if (s < 0.15) expect(covering, `${z.id}: ${cal.cameraId} sees ${(s * 100).toFixed(0)} % of it`).not.toContain(serial);
          if (covering.includes(serial)) claims++;
        }
      }
      expect(claims).toBeGreaterThan(0);
      await until(() => app.timeline.tracks().tracks.length > 0, 20_000);
      // Sample for a while: each confirmed Human track lies near a true person, and the person it
      // lies near stays the same while the track's camera set grows (hand-over keeps the id).
      const owner = new Map<string, Map<string, number>>(); // track → actor → times nearest
      const cameraSets = new Map<string, Set<string>>();
      const errors: number[] = [];
      for (let i = 0; i < 40; i++) {
        await sleep(250);
        const { tracks } = app.timeline.tracks();
        for (const t of tracks) {
          if (t.cls !== 'Human') continue;
          const truth = scene.actorsAt(t.updatedAt).filter((a) => a.kind === 'Human');
          let best = { id: '', d: Infinity };
          for (const a of truth) {
            const d = Math.hypot(a.x - t.x, a.y - t.y);
            if (d < best.d) best = { id: a.id, d };
          }
          errors.push(best.d);
          const m = owner.get(t.id) ?? new Map<string, number>();
          m.set(best.id, (m.get(best.id) ?? 0) + 1);
          owner.set(t.id, m);
          const cs = cameraSets.get(t.id) ?? new Set<string>();
          for (const c of t.cameras) cs.add(c);
          cameraSets.set(t.id, cs);
        }
      }
      expect(errors.length).toBeGreaterThan(20);
      errors.sort((a, b) => a - b);
      expect(errors[Math.floor(errors.length / 2)]!).toBeLessThan(1.0); // median error, metres
      // At least one track was seen by two cameras, and it followed one person throughout.
      const handed = [...cameraSets.entries()].filter(([, cs]) => cs.size >= 2).map(([id]) => id);
      expect(handed.length).toBeGreaterThan(0);
      for (const id of handed) {
        const counts = [...owner.get(id)!.values()];
        const total = counts.reduce((a, b) => a + b, 0);
        if (total < 5) continue;
        expect(Math.max(...counts) / total).toBeGreaterThan(0.8);
      }
      // The futures can be projected into a camera's image for drawing on its feed.
      const feed = await call<{ calibrated: boolean; paths: { points: [number, number][]; weight: number }[] }>('timeline.futuresForCamera', { cameraId: cams[0]!.id });
      expect(feed.calibrated).toBe(true);
    } finally {
      await app.close();
    }
  }, 60_000);
});
