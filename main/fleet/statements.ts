// The fleet's SQL, in one place, with each row shape decoded by a schema instead of cast: a column
// that drifts from what the code expects fails loudly here rather than deep in a view.
import { z } from 'zod';
import { cameraIdSchema } from '../../preload/contract/camera-id';
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
    id: cameraIdSchema,
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

// ---- deploy ----
export const buildRowSchema = z
  .object({
    sha256: text,
    file_name: text,
    app_name: text,
    version: text,
    architecture: text,
    bytes: int,
    source: z.enum(['native', 'file', 'camera']),
    problems: text,
    added_at: int,
    base_sha: text.nullable(),
    model_version: int.nullable(),
  })
  .strict();
export type BuildRow = z.infer<typeof buildRowSchema>;

export const deployRowSchema = z
  .object({
    id: text,
    created_at: int,
    finished_at: int.nullable(),
    user: text,
    build_sha: text,
    status: z.enum(['running', 'done', 'cancelled', 'interrupted']),
    options: text,
    retry_of: text.nullable(),
    approval: text.nullable(),
    model_version: int.nullable(),
    stopped_reason: text.nullable(),
  })
  .strict();
export type DeployRow = z.infer<typeof deployRowSchema>;

export const targetRowSchema = z
  .object({
    deploy_id: text,
    camera_id: cameraIdSchema,
    camera_name: text,
    phase: z.enum(['queued', 'preflight', 'upload', 'start', 'verify', 'rollback', 'done']),
    outcome: z.enum(['pending', 'verified', 'rolled_back', 'failed', 'cancelled', 'interrupted', 'skipped']),
    bytes_sent: int,
    bytes_total: int,
    message: text,
    previous_version: text.nullable(),
    previous_sha: text.nullable(),
    final_version: text.nullable(),
    updated_at: int,
    model_version: int.nullable(),
    stage: int,
  })
  .strict();
export type TargetRow = z.infer<typeof targetRowSchema>;

const installedRowSchema = z.object({ camera_id: cameraIdSchema, app_name: text, version: text, build_sha: text.nullable(), recorded_at: int }).strict();
const idRow = z.object({ id: text }).strict();

export function deployStatements(db: Db) {
  return {
    build: query(db, buildRowSchema, 'SELECT * FROM deploy_builds WHERE sha256 = ?'),
    builds: query(db, buildRowSchema, 'SELECT * FROM deploy_builds ORDER BY added_at DESC, file_name'),
    buildsNamed: query(db, buildRowSchema, 'SELECT * FROM deploy_builds WHERE file_name = ? ORDER BY added_at DESC'),
    buildWithModel: query(db, buildRowSchema, 'SELECT * FROM deploy_builds WHERE base_sha = ? AND model_version = ? ORDER BY added_at DESC'),
    upsertBuild: command(
      db,
      `INSERT INTO deploy_builds (sha256, file_name, app_name, version, architecture, bytes, source, problems, added_at) VALUES (?,?,?,?,?,?,?,?,?)
       ON CONFLICT (sha256) DO UPDATE SET problems = excluded.problems`,
    ),
    setBuildModel: command(db, 'UPDATE deploy_builds SET base_sha = ?, model_version = ? WHERE sha256 = ?'),
    deploy: query(db, deployRowSchema, 'SELECT * FROM deploys WHERE id = ?'),
    recentIds: query(db, idRow, 'SELECT id FROM deploys ORDER BY created_at DESC, rowid DESC LIMIT ?'),
    runningIds: query(db, idRow, "SELECT id FROM deploys WHERE status = 'running'"),
    insertDeploy: command(db, 'INSERT INTO deploys (id, created_at, user, build_sha, status, options, retry_of, approval, model_version) VALUES (?,?,?,?,?,?,?,?,?)'),
    finishDeploy: command(db, 'UPDATE deploys SET status = ?, finished_at = ? WHERE id = ?'),
    stopDeploy: command(db, 'UPDATE deploys SET stopped_reason = ? WHERE id = ?'),
    interruptDeploy: command(db, "UPDATE deploys SET status = 'interrupted', finished_at = ? WHERE id = ?"),
    target: query(db, targetRowSchema, 'SELECT * FROM deploy_targets WHERE deploy_id = ? AND camera_id = ?'),
    targets: query(db, targetRowSchema, 'SELECT * FROM deploy_targets WHERE deploy_id = ? ORDER BY stage, camera_name, camera_id'),
    unverifiedTargets: query(db, targetRowSchema, "SELECT * FROM deploy_targets WHERE deploy_id = ? AND outcome != 'verified'"),
    insertTarget: command(
      db,
      'INSERT INTO deploy_targets (deploy_id, camera_id, camera_name, phase, outcome, bytes_total, message, previous_version, previous_sha, stage, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
    ),
    updateTarget: command(
      db,
      `UPDATE deploy_targets SET phase=@phase, outcome=@outcome, bytes_sent=@bytes_sent, bytes_total=@bytes_total, message=@message,
       previous_version=@previous_version, previous_sha=@previous_sha, final_version=@final_version, model_version=@model_version, stage=@stage, updated_at=@updated_at
       WHERE deploy_id=@deploy_id AND camera_id=@camera_id`,
    ),
    interruptTargets: command(
      db,
      "UPDATE deploy_targets SET outcome = 'interrupted', message = 'the app stopped during ' || phase || '; the camera may run either version — retry to resume and verify', updated_at = ? WHERE deploy_id = ? AND outcome = 'pending'",
    ),
    installed: query(db, installedRowSchema, 'SELECT * FROM deploy_installed WHERE camera_id = ?'),
    recordInstalled: command(
      db,
      `INSERT INTO deploy_installed (camera_id, app_name, version, build_sha, recorded_at) VALUES (?,?,?,?,?)
       ON CONFLICT (camera_id) DO UPDATE SET app_name=excluded.app_name, version=excluded.version, build_sha=excluded.build_sha, recorded_at=excluded.recorded_at`,
    ),
  };
}
