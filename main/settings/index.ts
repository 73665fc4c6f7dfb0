import { settingsSchema, type SettingKey, type Settings, type SettingsPatch } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import type { Logger } from '../kernel/logger';
import type { Db } from '../store';

export interface SettingsService {
  get(): Settings;
  set(patch: SettingsPatch): Settings;
  reset(keys?: SettingKey[]): Settings;
  handlers: Handlers;
}

const defaults = (): Settings => settingsSchema.parse({});

/**
 * Settings live one row per key as JSON. A stored value that no longer validates (an older or
 * hand-edited database) falls back to its default with a warning instead of stopping the app.
 */
export function createSettingsService(deps: { db: Db; bus: EventBus; log: Logger; now: () => number }): SettingsService {
  const { db, bus, log, now } = deps;
  const shape = settingsSchema.shape;
  const upsert = db.prepare(
    'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
  );
  const remove = db.prepare('DELETE FROM settings WHERE key = ?');

  const load = (): Settings => {
    const current: Record<string, unknown> = { ...defaults() };
    for (const row of db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[]) {
      if (!(row.key in shape)) continue; // a setting from a newer or older build: kept, not used
      try {
        const parsed = shape[row.key as SettingKey].safeParse(JSON.parse(row.value));
        if (parsed.success) current[row.key] = parsed.data;
        else log.warn({ key: row.key }, 'stored setting is invalid; using its default');
      } catch {
        log.warn({ key: row.key }, 'stored setting is not JSON; using its default');
      }
    }
    return current as Settings;
  };

  let cache = load();

  const set = (patch: SettingsPatch): Settings => {
    const next = settingsSchema.parse({ ...cache, ...patch });
    const ts = now();
    db.transaction(() => {
      for (const key of Object.keys(patch) as SettingKey[]) upsert.run(key, JSON.stringify(next[key]), ts);
    })();
    cache = next;
    bus.publish('settings.changed', cache);
    return cache;
  };

  const reset = (keys?: SettingKey[]): Settings => {
    const list = keys ?? (Object.keys(shape) as SettingKey[]);
    db.transaction(() => {
      for (const key of list) remove.run(key);
    })();
    cache = load();
    bus.publish('settings.changed', cache);
    return cache;
  };

  return {
    get: () => cache,
    set,
    reset,
    handlers: {
      'settings.get': () => cache,
      'settings.set': (patch) => set(patch),
      'settings.reset': ({ keys }) => reset(keys),
    },
  };
}
