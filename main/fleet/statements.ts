// The fleet's SQL, in one place, with each row shape decoded by a schema instead of cast: a column
// that drifts from what the code expects fails loudly here rather than deep in a view.
import { z } from 'zod';
import type { Db } from '../store';

/** Prepares `sql` once and decodes every row it returns with `schema`. */
export function query<S extends z.ZodType>(db: Db, schema: S, sql: string) {
  const stmt = db.prepare(sql);
  return {
    get: (...args: unknown[]): z.infer<S> | undefined => {
      const r: unknown = stmt.get(...args);
      return r === undefined ? undefined : schema.parse(r);
    },
    all: (...args: unknown[]): z.infer<S>[] => (stmt.all(...args) as unknown[]).map((r) => schema.parse(r)),
  };
}

/** Prepares a statement that changes rows. */
export function command(db: Db, sql: string) {
  const stmt = db.prepare(sql);
  return (...args: unknown[]): number => stmt.run(...args).changes;
}

const int = z.number().int();
const text = z.string();

export const cameraRowSchema = z
  .object({
    id: text,
    name: text,
    host: text,
    port: int,
    username: text,
    model: text,
    serial: text,
    architecture: text,
    soc: text,
    firmware: text,
    status: text,
    fov: text,
    public_key: text.nullable(),
    key_id: text.nullable(),
    demo: int,
    demo_active: int,
    created_at: int,
    updated_at: int,
    https_port: int,
    cert_fingerprint: text.nullable(),
    cert_trust: z.enum(['pin', 'ca']).nullable(),
    cert_pinned_at: int.nullable(),
    cert_seen: text.nullable(),
    cert_seen_at: int.nullable(),
    key_enrolled_at: int.nullable(),
  })
  .strict();
export type CameraRow = z.infer<typeof cameraRowSchema>;

/** Columns the registry's update() may set, by the name callers use. */
export const cameraColumns = {
  name: 'name',
  host: 'host',
  port: 'port',
  username: 'username',
  model: 'model',
  serial: 'serial',
  architecture: 'architecture',
  soc: 'soc',
  firmware: 'firmware',
  status: 'status',
  fov: 'fov',
  publicKey: 'public_key',
  keyId: 'key_id',
  demoActive: 'demo_active',
  httpsPort: 'https_port',
  certFingerprint: 'cert_fingerprint',
  certTrust: 'cert_trust',
  certPinnedAt: 'cert_pinned_at',
  certSeen: 'cert_seen',
  certSeenAt: 'cert_seen_at',
  keyEnrolledAt: 'key_enrolled_at',
} as const;
export type CameraColumn = keyof typeof cameraColumns;

export function cameraStatements(db: Db) {
  const rows = (where: string) => query(db, cameraRowSchema, `SELECT * FROM cameras ${where}`);
  return {
    list: rows('ORDER BY name COLLATE NOCASE, id'),
    byId: rows('WHERE id = ?'),
    byAddress: rows('WHERE host = ? COLLATE NOCASE AND port = ?'),
    bySerial: rows('WHERE serial = ?'),
    insert: command(
      db,
      `INSERT INTO cameras (id, name, host, port, https_port, username, model, serial, architecture, soc, firmware, demo, demo_active, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    remove: command(db, 'DELETE FROM cameras WHERE id = ?'),
    /** One UPDATE per set of columns, prepared once and kept. */
    update: (() => {
      const cache = new Map<string, (...args: unknown[]) => number>();
      return (cols: CameraColumn[], values: unknown[], updatedAt: number, id: string): number => {
        const key = cols.join(',');
        let run = cache.get(key);
        if (!run) {
          run = command(db, `UPDATE cameras SET ${cols.map((c) => `${cameraColumns[c]} = ?`).join(', ')}, updated_at = ? WHERE id = ?`);
          cache.set(key, run);
        }
        return run(...values, updatedAt, id);
      };
    })(),
    stateGet: query(db, z.object({ value: text }).strict(), 'SELECT value FROM fleet_state WHERE key = ?'),
    stateSet: command(db, 'INSERT INTO fleet_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
  };
}
