import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../app/testkit';

const ctx = { transport: 'internal' as const, peer: 'test' };
let app: TestApp | undefined;
afterEach(async () => app?.close());

describe('settings', () => {
  it('has typed defaults with the simulated fleet on', async () => {
    app = createTestApp();
    const r = await app.dispatcher.dispatch('settings.get', {}, ctx);
    expect(r).toMatchObject({ ok: true, value: { demoFleet: true, theme: 'system', mqttMode: 'embedded' } });
  });

  it('persists a change across a restart and announces it', async () => {
    app = createTestApp();
    const seen: string[] = [];
    app.bus.subscribe('settings.changed', (s) => seen.push(s.theme));
    await app.dispatcher.dispatch('settings.set', { theme: 'light', demoCameraCount: 12 }, ctx);
    expect(seen).toEqual(['light']);
    const dir = app.dataDir;
    await app.close();
    app = createTestApp({ dataDir: dir });
    expect(app.settings.get()).toMatchObject({ theme: 'light', demoCameraCount: 12, demoFleet: true });
  });

  it('rejects a bad broker URL with a message that shows the expected form, and keeps the old value', async () => {
    app = createTestApp();
    const r = await app.dispatcher.dispatch('settings.set', { mqttUrl: 'http://nope' }, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/mqtt:\/\//);
    expect(app.settings.get().mqttUrl).toBe('');
  });

  it('falls back to the default for a stored value that no longer validates', async () => {
    app = createTestApp();
    app.db.prepare("INSERT INTO settings (key, value, updated_at) VALUES ('demoCameraCount', '\"many\"', 0)").run();
    const dir = app.dataDir;
    await app.close();
    app = createTestApp({ dataDir: dir });
    expect(app.settings.get().demoCameraCount).toBe(8);
  });

  it('changes only the settings a patch names', async () => {
    app = createTestApp();
    await app.dispatcher.dispatch('settings.set', { demoCameraCount: 16, notifications: false }, ctx);
    await app.dispatcher.dispatch('settings.set', { theme: 'dark' }, ctx);
    expect(app.settings.get()).toMatchObject({ theme: 'dark', demoCameraCount: 16, notifications: false });
    const rows = app.db.prepare('SELECT key FROM settings ORDER BY key').all() as { key: string }[];
    expect(rows.map((r) => r.key)).toEqual(['demoCameraCount', 'notifications', 'theme']);
  });

  it('resets chosen settings to their defaults', async () => {
    app = createTestApp();
    app.settings.set({ theme: 'dark', notifications: false });
    app.settings.reset(['theme']);
    expect(app.settings.get()).toMatchObject({ theme: 'system', notifications: false });
  });
});

describe('settings that act at once', () => {
  it('applies the log level to the running logger', () => {
    const saved = process.env.OMNISIGHT_LOG_LEVEL;
    delete process.env.OMNISIGHT_LOG_LEVEL;
    try {
      const log = pino({ level: 'info' }, { write: () => {} });
      app = createTestApp({ log });
      expect(log.level).toBe('info');
      app.settings.set({ logLevel: 'error' });
      expect(log.level).toBe('error');
    } finally {
      if (saved !== undefined) process.env.OMNISIGHT_LOG_LEVEL = saved;
    }
  });
});
