import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../database';
import { migrations } from './index';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('migration 405: timeline calibrations move from the serial to the camera id', () => {
  it('re-keys a calibration kept under a serial to the active camera with that serial, and leaves the rest', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-m405-'));
    dirs.push(dir);
    const before = migrations.filter((m) => m.version < 405);
    const { db } = openDatabase({ dir, migrations: before });
    const cam = db.prepare('INSERT INTO cameras (id, name, host, port, username, serial, demo, demo_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    cam.run('cam_000000000001', 'Gate (demo, off)', '127.0.0.1', 8001, 'root', 'B8A44F000001', 1, 0, 1, 1);
    cam.run('cam_000000000002', 'Gate', '10.0.0.2', 80, 'root', 'B8A44F000001', 0, 0, 2, 2);
    cam.run('cam_000000000003', 'Dock', '10.0.0.3', 80, 'root', 'B8A44F000003', 0, 0, 3, 3);
    const cal = db.prepare("INSERT INTO timeline_calibrations (camera_id, points, homography, rms_error_m, updated_at, source) VALUES (?, '[]', '[1,0,0,0,1,0,0,0,1]', ?, 1, 'camera')");
    cal.run('B8A44F000001', 0.1); // the real camera's serial (a demo record shares it)
    cal.run('B8A44F000003', 0.3); // its camera already has one under its id: that one stays
    cal.run('cam_000000000003', 0.33);
    cal.run('B8A44F0000FF', 0.9); // no camera has this serial
    db.close();

    const after = openDatabase({ dir, migrations });
    expect(after.migrated).toContain(405);
    const rows = after.db.prepare('SELECT camera_id, rms_error_m FROM timeline_calibrations ORDER BY camera_id').all();
    expect(rows).toEqual([
      { camera_id: 'B8A44F000003', rms_error_m: 0.3 },
      { camera_id: 'B8A44F0000FF', rms_error_m: 0.9 },
      { camera_id: 'cam_000000000002', rms_error_m: 0.1 },
      { camera_id: 'cam_000000000003', rms_error_m: 0.33 },
    ]);
    after.db.close();
  });
});
