// One camera identity: the registry's id (CameraId) is what every layer passes around; the serial
// is an attribute, mapped to the id in one place only (FleetService.cameraIdOf).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CAMERA_ID_PATTERN } from '../../preload/contract/camera-id';
import { createAuditLog } from '../audit';
import { createFileKeySecretStore } from '../app';
import { createEventBus } from '../kernel/bus';
import { createDispatcher } from '../kernel/dispatcher';
import { silentLogger } from '../kernel/logger';
import { createSettingsService } from '../settings';
import { openDatabase } from '../store';
import { createFleetService } from './index';
import type { HelperSupervisor } from './supervisor';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-camera-id-'));
  dirs.push(dir);
  const log = silentLogger();
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const snapshots: { host: string; port: number }[] = [];
  const helper = {
    call: async (req: { op: string; target?: { host: string; port: number } }) => {
      if (req.op === 'snapshot') snapshots.push({ host: req.target!.host, port: req.target!.port });
      return { jpegBase64: Buffer.from([0xff, 0xd8, 0xff, 0xd9]).toString('base64') };
    },
  } as unknown as HelperSupervisor;
  const fleet = createFleetService({ db, bus, log, audit: createAuditLog({ db, bus, now: Date.now }), secrets: createFileKeySecretStore(db, dir), settings: createSettingsService({ db, bus, log, now: Date.now }), helper, broker: () => undefined, now: Date.now, noDemo: true });
  const add = (name: string, port: number, serial: string, demo = false) =>
    fleet.registry.insert({ name, host: '127.0.0.1', port, username: 'root', password: 'pw', model: 'M', serial, architecture: 'aarch64', soc: 's', firmware: '1', demo });
  return {
    fleet,
    add,
    snapshots,
    close: async () => {
      await fleet.close();
      db.close();
    },
  };
}

describe('camera identity in the fleet', () => {
  it('gives each camera a registry id unlike its serial, and maps a serial to it in one place', async () => {
    const s = setup();
    try {
      const leftover = s.add('Gate (demo)', 1, 'B8A44F7D507D', true);
      s.fleet.registry.update(leftover.id, { demoActive: false });
      const gate = s.add('Gate', 2, 'B8A44F7D507D');
      const dock = s.add('Dock', 3, 'B8A44F000003');
      for (const c of [leftover, gate, dock]) {
        expect(c.id).toMatch(CAMERA_ID_PATTERN);
        expect(c.id).toMatch(/^cam_[0-9a-f]{12}$/);
        expect(c.id).not.toBe(c.serial);
      }
      // Two records share a serial (a demo camera left behind by the real one): the active one.
      expect(s.fleet.cameraIdOf('B8A44F7D507D')).toBe(gate.id);
      expect(s.fleet.cameraIdOf('B8A44F000003')).toBe(dock.id);
      expect(s.fleet.cameraIdOf('B8A44F0000FF')).toBeUndefined();
      // An id is not a serial: no "id or serial" lookup.
      expect(s.fleet.cameraIdOf(gate.id)).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it('takes a snapshot and tells the status by camera id only', async () => {
    const s = setup();
    try {
      const gate = s.add('Gate', 2, 'B8A44F7D507D');
      expect(await s.fleet.snapshot(gate.id)).toHaveLength(4);
      // @ts-expect-error a serial is not a camera id
      await expect(s.fleet.snapshot(gate.serial)).rejects.toMatchObject({ code: 'not_found' });
      expect(s.snapshots).toEqual([{ host: '127.0.0.1', port: 2 }]);
      // @ts-expect-error the status of a camera is asked by its id
      expect(s.fleet.status(gate.serial)).toBeUndefined();
      expect(s.fleet.status(gate.id)?.cameraId).toBe(gate.id);
    } finally {
      await s.close();
    }
  });

  it('refuses a malformed camera id at the contract, before any handler runs', async () => {
    const s = setup();
    try {
      const gate = s.add('Gate', 2, 'B8A44F7D507D');
      const dispatcher = createDispatcher({ log: silentLogger() });
      dispatcher.register(s.fleet.handlers);
      const ctx = { transport: 'internal' as const, peer: 't' };
      expect(await dispatcher.dispatch('fleet.detections', { id: 'cam 1; drop' }, ctx)).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      expect(await dispatcher.dispatch('fleet.detections', { id: 'cam_000000000000' }, ctx)).toMatchObject({ ok: false, error: { code: 'not_found' } });
      expect(await dispatcher.dispatch('fleet.detections', { id: gate.id }, ctx)).toMatchObject({ ok: true });
    } finally {
      await s.close();
    }
  });
});
