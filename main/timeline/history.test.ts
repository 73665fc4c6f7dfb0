import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TimelineTrack } from '../../preload/contract';
import { openDatabase } from '../store';
import { createTimelineHistory } from './history';

const track = (id: string, camera: string): TimelineTrack => ({ id, cls: 'Human', confirmed: true, x: 0, y: 0, vx: 0, vy: 0, cov: [1, 0, 1], cameras: [camera], lastCamera: camera, updatedAt: 0, modes: {}, futures: [] });

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function open(now: { t: number }) {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-history-'));
  return openDatabase({ dir, now: () => now.t }).db;
}

describe('timeline history', () => {
  it('keeps which camera saw which track when, across a reopening of the database', () => {
    const now = { t: 0 };
    let db = open(now);
    let h = createTimelineHistory(db, { retentionMs: 3_600_000, now: () => now.t });
    // Track a seen by CAM1 from 0.2 to 2 s, then by CAM2; track b appears at 1 s; a gap ends a's CAM2 segment.
    for (let at = 200; at <= 2000; at += 200) h.recordTracks(at, [track('a', 'CAM1'), ...(at >= 1000 ? [track('b', 'CAM1')] : [])]);
    for (let at = 2200; at <= 3000; at += 200) h.recordTracks(at, [track('a', 'CAM2'), track('b', 'CAM1')]);
    h.recordTracks(9000, [track('a', 'CAM2')]);
    h.recordIntervention({ trackId: 'a', zoneId: 'dock', probability: 0.7, at: 2500, leadTimeS: 3, actBy: 5000, suggestedAction: 'Warn' });
    h.close();
    db.close();
    db = openDatabase({ dir: dir!, now: () => now.t }).db;
    h = createTimelineHistory(db, { retentionMs: 3_600_000, now: () => now.t });
    const r = h.range(0, 10_000);
    const seg = (id: string, cam: string) => r.segments.filter((s) => s.trackId === id && s.camera === cam).map((s) => [s.from, s.to]);
    expect(seg('a', 'CAM1')).toEqual([[200, 2000]]);
    expect(seg('a', 'CAM2')).toEqual([
      [2200, 3000],
      [9000, 9000],
    ]);
    expect(seg('b', 'CAM1')).toEqual([[1000, 3000]]);
    expect(r.interventions).toEqual([{ trackId: 'a', zoneId: 'dock', probability: 0.7, at: 2500, leadTimeS: 3, actBy: 5000, suggestedAction: 'Warn' }]);
    // A window that ends before a segment starts does not list it.
    expect(h.range(0, 900).segments.map((s) => s.trackId)).toEqual(['a']);
    h.close();
    db.close();
  });

  it('drops what is older than the retention', () => {
    const now = { t: 0 };
    const db = open(now);
    const h = createTimelineHistory(db, { retentionMs: 60_000, now: () => now.t });
    h.recordTracks(1000, [track('old', 'CAM1')]);
    h.recordIntervention({ trackId: 'old', zoneId: 'z', probability: 0.5, at: 1000, leadTimeS: 1, actBy: 2000, suggestedAction: '' });
    now.t = 200_000;
    h.recordTracks(200_000, [track('new', 'CAM1')]);
    h.flush(now.t);
    const r = h.range(0, 300_000);
    expect(r.segments.map((s) => s.trackId)).toEqual(['new']);
    expect(r.interventions).toEqual([]);
    h.close();
    db.close();
  });

  it('applies a changed retention: a shorter one drops at once, a longer one keeps from then on', () => {
    const now = { t: 0 };
    const db = open(now);
    const h = createTimelineHistory(db, { retentionMs: 10 * 3_600_000, now: () => now.t });
    const at = (hours: number) => hours * 3_600_000;
    for (const hour of [1, 3, 5]) {
      now.t = at(hour);
      h.recordTracks(now.t, [track(`t${hour}`, 'CAM1')]);
      h.recordIntervention({ trackId: `t${hour}`, zoneId: 'z', probability: 0.5, at: now.t, leadTimeS: 1, actBy: now.t + 1000, suggestedAction: '' });
      h.recordTracks(now.t + 5000, []); // ends the segment
    }
    now.t = at(6);
    h.flush(now.t);
    expect(h.range(0, at(7)).segments.map((s) => s.trackId)).toEqual(['t1', 't3', 't5']);
    expect(h.keptSince(now.t)).toBe(at(-4));
    // Two hours: what ended before 4 h is gone without waiting for the next flush.
    h.setRetentionMs(at(2));
    expect(h.keptSince(now.t)).toBe(at(4));
    const r = h.range(0, at(7));
    expect(r.segments.map((s) => s.trackId)).toEqual(['t5']);
    expect(r.interventions.map((i) => i.trackId)).toEqual(['t5']);
    // Longer again: nothing comes back, and the next flushes keep the longer span.
    h.setRetentionMs(at(48));
    now.t = at(20);
    h.recordTracks(now.t, [track('t20', 'CAM1')]);
    h.flush(now.t);
    expect(h.range(0, at(21)).segments.map((s) => s.trackId)).toEqual(['t5', 't20']);
    expect(() => h.setRetentionMs(0)).toThrow(/positive/);
    h.close();
    db.close();
  });
});
