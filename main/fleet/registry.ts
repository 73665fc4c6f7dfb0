// Cameras in SQLite. Passwords never touch this table: they go through the SecretStore under
// camera.<id>.password.
import crypto from 'node:crypto';
import { fovSchema, type Camera, type CameraState } from '../../preload/contract/fleet';
import type { SecretStore } from '../kernel/ports';
import type { Db } from '../store';

interface Row {
  id: string;
  name: string;
  host: string;
  port: number;
  username: string;
  model: string;
  serial: string;
  architecture: string;
  soc: string;
  firmware: string;
  status: string;
  fov: string;
  public_key: string | null;
  key_id: string | null;
  demo: number;
  demo_active: number;
  created_at: number;
  updated_at: number;
}

const states = new Set<CameraState>(['online', 'offline', 'stalled', 'connecting', 'unknown']);

const toCamera = (r: Row): Camera => {
  let fov: Camera['fov'] = {};
  try {
    const parsed = fovSchema.safeParse(JSON.parse(r.fov));
    if (parsed.success) fov = parsed.data;
  } catch {
    /* an unreadable fov is treated as not calibrated */
  }
  return {
    id: r.id,
    name: r.name,
    host: r.host,
    port: r.port,
    username: r.username,
    model: r.model,
    serial: r.serial,
    architecture: r.architecture,
    soc: r.soc,
    firmware: r.firmware,
    status: states.has(r.status as CameraState) ? (r.status as CameraState) : 'unknown',
    fov,
    publicKey: r.public_key,
    demo: r.demo === 1,
    demoActive: r.demo_active === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

export const passwordSecret = (id: string): string => `camera.${id}.password`;

export interface NewCamera {
  name: string;
  host: string;
  port: number;
  username: string;
  password: string;
  model: string;
  serial: string;
  architecture: string;
  soc: string;
  firmware: string;
  demo?: boolean;
}

export interface Registry {
  list(): Camera[];
  get(id: string): Camera | undefined;
  byAddress(host: string, port: number): Camera | undefined;
  bySerial(serial: string): Camera[];
  insert(c: NewCamera): Camera;
  update(
    id: string,
    patch: Partial<Omit<NewCamera, 'demo'>> & { fov?: Camera['fov']; status?: CameraState; demoActive?: boolean; publicKey?: string | null; keyId?: string | null },
  ): Camera;
  /** The signing key recorded from the camera's identity.cgi (docs/protocol.md, Keys). */
  keyOf(id: string): { keyId: string; publicKey: string } | undefined;
  remove(id: string): boolean;
  password(id: string): string;
  state(key: string): string | undefined;
  setState(key: string, value: string): void;
}

export function createRegistry(deps: { db: Db; secrets: SecretStore; now: () => number; newId?: () => string }): Registry {
  const { db, secrets, now } = deps;
  const newId = deps.newId ?? (() => `cam_${crypto.randomBytes(6).toString('hex')}`);
  const get = (id: string): Camera | undefined => {
    const r = db.prepare('SELECT * FROM cameras WHERE id = ?').get(id) as Row | undefined;
    return r && toCamera(r);
  };
  const columns: Record<string, string> = {
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
    publicKey: 'public_key',
    keyId: 'key_id',
  };

  return {
    list: () => (db.prepare('SELECT * FROM cameras ORDER BY name COLLATE NOCASE, id').all() as Row[]).map(toCamera),
    get,
    byAddress: (host, port) => {
      const r = db.prepare('SELECT * FROM cameras WHERE host = ? COLLATE NOCASE AND port = ?').get(host, port) as Row | undefined;
      return r && toCamera(r);
    },
    bySerial: (serial) => (db.prepare('SELECT * FROM cameras WHERE serial = ?').all(serial) as Row[]).map(toCamera),
    insert(c) {
      const id = newId();
      const ts = now();
      db.transaction(() => {
        db.prepare(
          `INSERT INTO cameras (id, name, host, port, username, model, serial, architecture, soc, firmware, demo, demo_active, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(id, c.name, c.host, c.port, c.username, c.model, c.serial, c.architecture, c.soc, c.firmware, c.demo ? 1 : 0, c.demo ? 1 : 0, ts, ts);
        secrets.set(passwordSecret(id), c.password);
      })();
      return get(id)!;
    },
    update(id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined || k === 'password') continue;
        if (k === 'fov') {
          sets.push('fov = ?');
          values.push(JSON.stringify(v));
        } else if (k === 'demoActive') {
          sets.push('demo_active = ?');
          values.push(v ? 1 : 0);
        } else if (columns[k]) {
          sets.push(`${columns[k]} = ?`);
          values.push(v);
        }
      }
      db.transaction(() => {
        if (sets.length) db.prepare(`UPDATE cameras SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`).run(...values, now(), id);
        if (patch.password !== undefined) secrets.set(passwordSecret(id), patch.password);
      })();
      return get(id)!;
    },
    remove(id) {
      let removed = false;
      db.transaction(() => {
        removed = db.prepare('DELETE FROM cameras WHERE id = ?').run(id).changes > 0;
        secrets.delete(passwordSecret(id));
      })();
      return removed;
    },
    keyOf: (id) => {
      const r = db.prepare('SELECT key_id, public_key FROM cameras WHERE id = ?').get(id) as Pick<Row, 'key_id' | 'public_key'> | undefined;
      return r?.key_id && r.public_key ? { keyId: r.key_id, publicKey: r.public_key } : undefined;
    },
    password: (id) => secrets.get(passwordSecret(id)) ?? '',
    state: (key) => (db.prepare('SELECT value FROM fleet_state WHERE key = ?').get(key) as { value: string } | undefined)?.value,
    setState: (key, value) => {
      db.prepare('INSERT INTO fleet_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
    },
  };
}
