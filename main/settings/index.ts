import { settingsSchema, type SettingKey, type Settings, type SettingsPatch } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import type { Logger } from '../kernel/logger';
import { jsonText, type Db } from '../store';
import { settingsStatements } from './statements';

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
  const isKey = (k: string): k is SettingKey => Object.hasOwn(shape, k);
  const sql = settingsStatements(db);

  const load = (): Settings => {
    const current: Record<string, unknown> = { ...defaults() };
    for (const row of sql.rows()) {
      if (!isKey(row.key)) continue; // a setting from a newer or older build: kept, not used
      const parsed = jsonText(shape[row.key]).safeParse(row.value);
      if (parsed.success) current[row.key] = parsed.data;
      else log.warn({ key: row.key, why: parsed.error.issues[0]?.message }, 'stored setting is invalid; using its default');
    }
    return settingsSchema.parse(current);
  };

  let cache = load();

  const set = (patch: SettingsPatch): Settings => {
    const next = settingsSchema.parse({ ...cache, ...patch });
    const ts = now();
    sql.save(Object.keys(patch).filter(isKey).map((key) => [key, JSON.stringify(next[key])] as const), ts);
    cache = next;
    bus.publish('settings.changed', cache);
    return cache;
  };

  const reset = (keys?: SettingKey[]): Settings => {
    sql.remove(keys ?? Object.keys(shape));
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
