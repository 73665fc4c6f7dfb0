import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCameraId } from '../../preload/contract/camera-id';
import { openDatabase } from '../store';
import { timelineStatements } from './statements';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const open = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-sql-'));
  dirs.push(dir);
  return openDatabase({ dir }).db;
};

describe('timeline statements', () => {
  it('round-trips zones, calibrations and statistics, decoding each row by schema', () => {
    const db = open();
    const bad: string[] = [];
    const sql = timelineStatements(db, (what) => bad.push(what));
    const zone = { id: 'z1', name: 'Gate', polygon: [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 1 }], threshold: 0.5, reactionS: 3 };
    sql.replaceZones([zone], 1);
    expect(sql.zones()).toEqual([zone]);
    const cal = { cameraId: parseCameraId('cam_b8a44f000001'), points: [{ image: { u: 0.1, v: 0.2 }, ground: { x: 1, y: 2 } }], h: [1, 0, 0, 0, 1, 0, 0, 0, 1] as [number, number, number, number, number, number, number, number, number], rmsErrorM: 0.01, source: 'camera' as const };
    sql.saveCalibration(cal, 2);
    expect(sql.calibrations()).toEqual([cal]);
    const withArea = { ...cal, includeArea: [{ u: 0, v: 0.4 }, { u: 1, v: 0.4 }, { u: 1, v: 1 }] };
    sql.saveCalibration(withArea, 3);
    expect(sql.calibrations()).toEqual([withArea]);
    sql.saveLearning({ switch_counts: [1, 2], outcomes: { overall: { ade: 1, fde: 2, n: 3 }, perCamera: {}, brierSum: 0, brierN: 0, unresolved: 0 }, process_noise: 0.5 }, 3);
    expect(sql.learning('process_noise')).toBe(0.5);
    expect(sql.learning('switch_counts')).toEqual([1, 2]);
    expect(bad).toEqual([]);
    db.close();
  });

  it('reports and skips a stored value of the wrong shape instead of using it', () => {
    const db = open();
    const bad: string[] = [];
    const sql = timelineStatements(db, (what) => bad.push(what));
    db.prepare('INSERT INTO timeline_zones (id, definition, updated_at) VALUES (?, ?, ?)').run('z1', '{"id":"z1","polygon":"nope"}', 1);
    db.prepare('INSERT INTO timeline_calibrations (camera_id, points, homography, rms_error_m, updated_at, source) VALUES (?, ?, ?, ?, ?, ?)').run('C', '[]', '[1,2,3]', 0, 1, 'camera');
    db.prepare('INSERT INTO timeline_learning (key, value, updated_at) VALUES (?, ?, ?)').run('process_noise', '"high"', 1);
    expect(sql.zones()).toEqual([]);
    expect(sql.calibrations()).toEqual([]);
    expect(sql.learning('process_noise')).toBeUndefined();
    expect(bad).toEqual(['timeline zone', 'camera calibration', 'timeline statistic process_noise']);
    db.close();
  });
});
