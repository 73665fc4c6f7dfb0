// The Timeline's history retention is a setting: the composition root applies it to the pruning and
// to what timeline.history says it keeps, at start and on every change.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { TimelineTrack } from '../../preload/contract';
import { createTestApp, type TestApp } from './testkit';

const HOUR = 3_600_000;
const track = (id: string): TimelineTrack => ({ id, cls: 'Human', confirmed: true, x: 0, y: 0, vx: 0, vy: 0, cov: [1, 0, 1], cameras: ['CAM1'], lastCamera: 'CAM1', updatedAt: 0, modes: {}, futures: [] });
const ctx = { transport: 'internal' as const, peer: 'test' };

const apps: TestApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) {
    await a.close();
    fs.rmSync(a.dataDir, { recursive: true, force: true });
  }
});

describe('timeline history retention setting', () => {
  it('is validated, applied to the pruning, and reported as keptSince', async () => {
    let t = 1_795_000_000_000;
    const app = createTestApp({ now: () => t });
    apps.push(app);
    const history = async () => {
      const r = await app.dispatcher.dispatch('timeline.history', { from: 0, to: t + HOUR }, ctx);
      if (!r.ok) throw new Error(r.error.message);
      return r.value as { keptSince: number; segments: { trackId: string }[] };
    };
    expect(app.settings.get().timelineRetentionHours).toBe(24);
    expect((await history()).keptSince).toBe(t - 24 * HOUR);

    // A track seen 5 hours ago and one seen now.
    const old = t - 5 * HOUR;
    app.bus.publish('timeline.tracks', { at: old, tracks: [track('old')] });
    app.bus.publish('timeline.tracks', { at: old + 3000, tracks: [] });
    app.bus.publish('timeline.tracks', { at: t, tracks: [track('new')] });
    // Open segments are written every 2 s of the clock.
    for (let k = 0; k < 2; k++) {
      t += 1000;
      app.bus.publish('timeline.tracks', { at: t, tracks: [track('new')] });
    }
    expect((await history()).segments.map((s) => s.trackId).sort()).toEqual(['new', 'old']);

    // Out of range: refused with the field named, nothing changed.
    const bad = await app.dispatcher.dispatch('settings.set', { timelineRetentionHours: 0 }, ctx);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.issues?.[0]?.path).toBe('timelineRetentionHours');
    expect((await app.dispatcher.dispatch('settings.set', { timelineRetentionHours: 24 * 91 }, ctx)).ok).toBe(false);

    // Two hours: the 5-hour-old track is pruned at once.
    const ok = await app.dispatcher.dispatch('settings.set', { timelineRetentionHours: 2 }, ctx);
    expect(ok.ok).toBe(true);
    const after = await history();
    expect(after.keptSince).toBe(t - 2 * HOUR);
    expect(after.segments.map((s) => s.trackId)).toEqual(['new']);
  });
});
