// Every SQL statement of the settings store (one row per key, the value as JSON text).
import { z } from 'zod';
import { command, query, type Db } from '../store';

export function settingsStatements(db: Db) {
  const upsert = command(
    db,
    'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
  );
  const remove = command(db, 'DELETE FROM settings WHERE key = ?');
  // The value is decoded per key by the caller (each key has its own schema and its own fallback).
  const all = query(db, 'SELECT key, value FROM settings', z.object({ key: z.string(), value: z.string() }));
  return {
    /** Writes several keys in one transaction. */
    save(entries: readonly (readonly [key: string, json: string])[], at: number): void {
      db.transaction(() => {
        for (const [key, json] of entries) upsert.run(key, json, at);
      })();
    },
    remove(keys: readonly string[]): void {
      db.transaction(() => {
        for (const key of keys) remove.run(key);
      })();
    },
    rows: () => all.all(),
  };
}
