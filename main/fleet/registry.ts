// Cameras in SQLite (SQL and row schemas in statements.ts). Passwords never touch this table: they
// go through the SecretStore under camera.<id>.password.
import crypto from 'node:crypto';
import { parseCameraId, type CameraId } from '../../preload/contract/camera-id';
import { fovSchema, type Camera, type CameraState } from '../../preload/contract/fleet';
import type { SecretStore } from '../kernel/ports';
import type { Db } from '../store';
import { cameraStatements, type CameraColumn, type CameraRow } from './statements';

const states = new Set<CameraState>(['online', 'offline', 'stalled', 'connecting', 'unknown']);

const toCamera = (r: CameraRow): Camera => {
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
    keyId: r.key_id,
    httpsPort: r.https_port,
    certificate: r.cert_fingerprint && r.cert_trust ? { fingerprint: r.cert_fingerprint, trust: r.cert_trust, since: r.cert_pinned_at ?? r.created_at } : null,
    certificateChanged: r.cert_seen ? { fingerprint: r.cert_seen, seenAt: r.cert_seen_at ?? 0 } : null,
    demo: r.demo === 1,
    demoActive: r.demo_active === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

export const passwordSecret = (id: CameraId): string => `camera.${id}.password`;

export interface NewCamera {
  name: string;
  host: string;
  port: number;
  httpsPort?: number;
  username: string;
  password: string;
  model: string;
  serial: string;
  architecture: string;
  soc: string;
  firmware: string;
  demo?: boolean;
}

export type CameraPatch = Partial<Omit<NewCamera, 'demo'>> & {
  fov?: Camera['fov'];
  status?: CameraState;
  demoActive?: boolean;
  publicKey?: string | null;
  keyId?: string | null;
  keyEnrolledAt?: number | null;
  certFingerprint?: string | null;
  certTrust?: 'pin' | 'ca' | null;
  certPinnedAt?: number | null;
  certSeen?: string | null;
  certSeenAt?: number | null;
};

/** The TLS pin kept for a camera (main/helper/tls.ts). */
export interface CameraPin {
  httpsPort: number;
  fingerprint: string | null;
  trust: 'pin' | 'ca' | null;
}

export interface Registry {
  list(): Camera[];
  get(id: CameraId): Camera | undefined;
  byAddress(host: string, port: number): Camera | undefined;
  bySerial(serial: string): Camera[];
  insert(c: NewCamera): Camera;
  update(id: CameraId, patch: CameraPatch): Camera;
  /** The signing key recorded from the camera's identity.cgi (docs/protocol.md, Keys). */
  keyOf(id: CameraId): { keyId: string; publicKey: string } | undefined;
  pinOf(id: CameraId): CameraPin | undefined;
  remove(id: CameraId): boolean;
  password(id: CameraId): string;
  state(key: string): string | undefined;
  setState(key: string, value: string): void;
}

export function createRegistry(deps: { db: Db; secrets: SecretStore; now: () => number; newId?: () => string }): Registry {
  const { db, secrets, now } = deps;
  const newId = deps.newId ?? (() => `cam_${crypto.randomBytes(6).toString('hex')}`);
  const q = cameraStatements(db);
  const row = (id: CameraId): CameraRow | undefined => q.byId.get(id);
  const get = (id: CameraId): Camera | undefined => {
    const r = row(id);
    return r && toCamera(r);
  };

  return {
    list: () => q.list.all().map(toCamera),
    get,
    byAddress: (host, port) => {
      const r = q.byAddress.get(host, port);
      return r && toCamera(r);
    },
    bySerial: (serial) => q.bySerial.all(serial).map(toCamera),
    insert(c) {
      const id = parseCameraId(newId());
      const ts = now();
      db.transaction(() => {
        q.insert(id, c.name, c.host, c.port, c.httpsPort ?? 443, c.username, c.model, c.serial, c.architecture, c.soc, c.firmware, c.demo ? 1 : 0, c.demo ? 1 : 0, ts, ts);
        secrets.set(passwordSecret(id), c.password);
      })();
      return get(id)!;
    },
    update(id, patch) {
      const cols: CameraColumn[] = [];
      const values: unknown[] = [];
      for (const [k, v] of Object.entries(patch) as [keyof CameraPatch, unknown][]) {
        if (v === undefined || k === 'password') continue;
        cols.push(k);
        values.push(k === 'fov' ? JSON.stringify(v) : k === 'demoActive' ? (v ? 1 : 0) : v);
      }
      db.transaction(() => {
        if (cols.length) q.update(cols, values, now(), id);
        if (patch.password !== undefined) secrets.set(passwordSecret(id), patch.password);
      })();
      return get(id)!;
    },
    remove(id) {
      let removed = false;
      db.transaction(() => {
        removed = q.remove(id) > 0;
        secrets.delete(passwordSecret(id));
      })();
      return removed;
    },
    keyOf: (id) => {
      const r = row(id);
      return r?.key_id && r.public_key ? { keyId: r.key_id, publicKey: r.public_key } : undefined;
    },
    pinOf: (id) => {
      const r = row(id);
      return r && { httpsPort: r.https_port, fingerprint: r.cert_fingerprint, trust: r.cert_trust };
    },
    password: (id) => secrets.get(passwordSecret(id)) ?? '',
    state: (key) => q.stateGet.get(key)?.value,
    setState: (key, value) => void q.stateSet(key, value),
  };
}
