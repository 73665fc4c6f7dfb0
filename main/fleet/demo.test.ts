// The demo path end to end through the composition root: createApp with a helper launcher and the
// demo setting on brings the simulated fleet up, registers it once, records each camera's signing
// key, and a restart finds the same cameras instead of adding them again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, createFileKeySecretStore, demoCountFromEnv, type App } from '../app';
import { createEventBus } from '../kernel/bus';
import { silentLogger } from '../kernel/logger';
import { createSettingsService } from '../settings';
import { openDatabase } from '../store';
import { inProcessHelper } from './supervisor';

const log = silentLogger();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-demo-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const open = (): App =>
  createApp({
    mode: 'browser',
    dataDir: dir,
    log,
    secretStore: (db) => createFileKeySecretStore(db, dir),
    notifier: { notify: () => undefined },
    launchHelper: inProcessHelper(),
  });

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('demo fleet through createApp', () => {
  it('registers the simulated cameras once, with their keys, and they come online', async () => {
    {
      // The user chose a small fleet before this start (as Settings would have stored it).
      const { db } = openDatabase({ dir });
      createSettingsService({ db, bus: createEventBus(), log, now: Date.now }).set({ demoFleet: true, demoCameraCount: 2 });
      db.close();
    }
    const app = open();
    let ids: string[];
    try {
      await app.fleet.ready;
      const cams = app.fleet.fleet.registry.list();
      expect(cams).toHaveLength(2);
      expect(cams.every((c) => c.demo && c.demoActive && c.architecture === 'aarch64')).toBe(true);
      ids = cams.map((c) => c.id).sort();
      for (const c of cams) {
        expect(c.publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
        expect(app.fleet.fleet.keyFor(c.serial)).toEqual({ cameraId: c.id, keyId: expect.any(String), publicKey: c.publicKey });
      }
      // Their MQTT clients were pointed at the embedded broker: heartbeats make them online.
      await until(() => cams.every((c) => app.fleet.fleet.status(c.id)?.state === 'online'), 10_000);
    } finally {
      await app.close();
    }

    const again = open();
    try {
      await again.fleet.ready;
      const cams = again.fleet.fleet.registry.list();
      expect(cams.map((c) => c.id).sort()).toEqual(ids);
      expect(cams.every((c) => c.demoActive)).toBe(true);
    } finally {
      await again.close();
    }
  }, 40_000);

  it('takes a fleet size for one run from OMNISIGHT_DEMO_CAMERAS, within the setting range', () => {
    expect(demoCountFromEnv({ OMNISIGHT_DEMO_CAMERAS: '15' })).toBe(15);
    expect(demoCountFromEnv({ OMNISIGHT_DEMO_CAMERAS: '0' })).toBeUndefined();
    expect(demoCountFromEnv({ OMNISIGHT_DEMO_CAMERAS: '65' })).toBeUndefined();
    expect(demoCountFromEnv({})).toBeUndefined();
  });
});
