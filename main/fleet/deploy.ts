// One-click deploy, driving the helper: builds kept by content hash, a preflight per camera, then
// with bounded concurrency upload (byte progress) → start → verify (list.cgi Running with the new
// version AND a heartbeat from the new program reporting it) → on any failure re-send and start
// what ran before and verify that. Every step is written to SQLite before it is taken, so a deploy
// cut short by an app restart is reported as interrupted and can be resumed.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Deploy, DeployApproval, DeployBuild, DeployOutcome, DeployPhase, DeployTarget, PreflightRow } from '../../preload/contract/deploy';
import type { Camera } from '../../preload/contract/fleet';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { CallContext, Handlers } from '../kernel/dispatcher';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { HelperTarget } from '../helper';
import type { CameraMessage } from '../swarm';
import { readEap } from '../packaging';
import { addModelToEap, type ModelArtifact } from './model-package';
import type { Db } from '../store';
import type { Registry } from './registry';
import type { HelperSupervisor } from './supervisor';

export interface DeployDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  audit: AuditLog;
  now: () => number;
  dataDir: string;
  helper: Pick<HelperSupervisor, 'call'>;
  registry: Pick<Registry, 'get' | 'list' | 'password' | 'update'>;
  subscribeMessages: (l: (m: CameraMessage) => void) => () => void;
  onHelperProgress: (l: (ev: { id: string; sent?: number; total?: number; line?: string }) => void) => () => void;
  /** The native/ folder whose dist/ holds builds; undefined when the app ships without it. */
  nativeDir?: string;
  /** A stored federated model version with its parameters; undefined when unknown. Absent: no models. */
  models?: (version: number) => ModelArtifact | undefined;
  /** How long a rollback waits for a camera that went away (crash, restart). */
  reconnectTimeoutMs?: number;
  pollMs?: number;
}

export interface DeployService {
  handlers: Handlers;
  /** Resolves a build (sha256 or file name) and camera ids for a proposal; AppError when unknown. */
  resolve(build: string, cameraIds: readonly string[]): { build: DeployBuild; cameras: { id: string; name: string }[] };
  /** Starts a deploy a room decision approved; `who` goes into the history and the audit. */
  startApproved(input: { buildSha: string; cameraIds: string[]; who: string; approval: DeployApproval }): string;
  get(deployId: string): Deploy;
  /** Resolves when every running deploy has finished (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

// Axis upload.cgi codes in words (reference: axis-camera-interfaces.md).
const UPLOAD_CODES: Record<number, string> = {
  1: 'not an ACAP package',
  2: 'signature verification failed: the camera only accepts signed apps (AllowUnsigned is off)',
  3: 'too large or the disk is full',
  5: 'not compatible with this camera (architecture or firmware)',
  10: 'unspecified error',
  12: 'another upload is in progress on the camera',
  13: 'user or group not allowed',
  14: 'an app with the same name in other letter case is installed',
  15: 'timed out',
  27: 'upgrade refused: the vendorId differs from the installed app',
  29: 'invalid manifest.json or package.conf',
};
const CONTROL_CODES: Record<number, string> = { 1: 'invalid package', 4: 'not found', 6: 'already running', 7: 'not running', 9: 'too many apps running', 10: 'unspecified error', 15: 'timeout' };
const AARCH64_SOCS = /artpec-(8|9)|cv25|ambarella|i\.mx8|s5l/i;

interface BuildRow {
  sha256: string;
  file_name: string;
  app_name: string;
  version: string;
  architecture: string;
  bytes: number;
  source: DeployBuild['source'];
  problems: string;
  added_at: number;
  base_sha: string | null;
  model_version: number | null;
}
interface DeployRow {
  id: string;
  created_at: number;
  finished_at: number | null;
  user: string;
  build_sha: string;
  status: Deploy['status'];
  options: string;
  retry_of: string | null;
  approval: string | null;
  model_version: number | null;
}
interface TargetRow {
  deploy_id: string;
  camera_id: string;
  camera_name: string;
  phase: DeployPhase;
  outcome: DeployOutcome;
  bytes_sent: number;
  bytes_total: number;
  message: string;
  previous_version: string | null;
  previous_sha: string | null;
  final_version: string | null;
  model_version: number | null;
  updated_at: number;
}
interface Options {
  allowUnsigned: boolean;
  concurrency: number;
  verifyTimeoutMs: number;
}

const toBuild = (r: BuildRow): DeployBuild => ({
  sha256: r.sha256,
  fileName: r.file_name,
  appName: r.app_name,
  version: r.version,
  architecture: r.architecture,
  bytes: r.bytes,
  source: r.source,
  addedAt: r.added_at,
  problems: JSON.parse(r.problems) as string[],
});
const toTarget = (r: TargetRow): DeployTarget => ({
  cameraId: r.camera_id,
  cameraName: r.camera_name,
  phase: r.phase,
  outcome: r.outcome,
  bytesSent: r.bytes_sent,
  bytesTotal: r.bytes_total,
  message: r.message,
  previousVersion: r.previous_version,
  finalVersion: r.final_version,
  modelVersion: r.model_version,
  updatedAt: r.updated_at,
});

class StepError extends Error {}

/** native/ beside the app (OMNISIGHT_NATIVE_DIR overrides); undefined when there is none. */
export function defaultNativeDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.OMNISIGHT_NATIVE_DIR ?? path.join(process.cwd(), 'native');
  return fs.existsSync(path.join(dir, 'Makefile')) ? dir : undefined;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function createDeployService(deps: DeployDeps): DeployService {
  const { db, bus, log, audit, now, helper, registry } = deps;
  const buildsDir = path.join(deps.dataDir, 'builds');
  fs.mkdirSync(buildsDir, { recursive: true });
  const pollMs = deps.pollMs ?? 400;
  const reconnectMs = deps.reconnectTimeoutMs ?? 30_000;
  const running = new Map<string, { cancelled: boolean; uploads: Set<string>; done: Promise<void> }>();
  let closed = false;

  // ---- builds ----
  const buildPath = (sha: string): string => path.join(buildsDir, `${sha}.eap`);
  const getBuild = (sha: string): BuildRow | undefined => db.prepare('SELECT * FROM deploy_builds WHERE sha256 = ?').get(sha) as BuildRow | undefined;

  /** Inspects an .eap with main/packaging's reader and keeps it by content hash. */
  const addBuildBytes = async (data: Buffer, fileName: string, source: DeployBuild['source']): Promise<DeployBuild> => {
    let info;
    try {
      info = await readEap(data);
    } catch (e) {
      throw new AppError('invalid_input', `${fileName} is not a readable .eap package (${errText(e)}). Choose a file written by npm run build:camera-app or the ACAP SDK.`);
    }
    if (!info.appName || !info.version) throw new AppError('invalid_input', `${fileName} has no app name or version: ${info.problems.join('; ') || 'manifest missing'}. Fix the manifest and rebuild.`);
    const file = buildPath(info.sha256);
    if (!fs.existsSync(file)) {
      fs.writeFileSync(`${file}.tmp`, data);
      fs.renameSync(`${file}.tmp`, file);
    }
    db.prepare(
      `INSERT INTO deploy_builds (sha256, file_name, app_name, version, architecture, bytes, source, problems, added_at) VALUES (?,?,?,?,?,?,?,?,?)
       ON CONFLICT (sha256) DO UPDATE SET problems = excluded.problems`,
    ).run(info.sha256, fileName, info.appName, info.version, info.architecture ?? 'all', data.length, source, JSON.stringify(info.problems), now());
    return toBuild(getBuild(info.sha256)!);
  };

  const nativeBuildFiles = (): string[] => {
    if (!deps.nativeDir) return [];
    const out: string[] = [];
    for (const d of [path.join(deps.nativeDir, 'dist'), path.join(deps.nativeDir, 'dist', 'crash-at-start')]) {
      try {
        for (const f of fs.readdirSync(d)) if (f.endsWith('.eap')) out.push(path.join(d, f));
      } catch {
        /* no builds yet */
      }
    }
    return out;
  };
  const seen = new Map<string, number>(); // native file → mtime already imported
  const importNative = async (): Promise<void> => {
    for (const f of nativeBuildFiles()) {
      const m = fs.statSync(f).mtimeMs;
      if (seen.get(f) === m) continue;
      seen.set(f, m);
      const label = f.includes(`${path.sep}crash-at-start${path.sep}`) ? `crash-at-start/${path.basename(f)}` : path.basename(f);
      await addBuildBytes(fs.readFileSync(f), label, 'native').catch((e: Error) => log.warn({ file: f, err: e.message }, 'a native build could not be read'));
    }
  };

  // ---- cameras ----
  const camera = (id: string): Camera => {
    const c = registry.get(id);
    if (!c) throw notFound(`Camera ${id}`);
    return c;
  };
  const target = (c: Camera): HelperTarget => ({ host: c.host, port: c.port, username: c.username, password: registry.password(c.id) });

  const preflightOne = async (c: Camera, build: BuildRow, allowUnsigned: boolean): Promise<PreflightRow> => {
    const row: PreflightRow = {
      cameraId: c.id,
      name: c.name,
      model: c.model,
      firmware: c.firmware,
      reachable: false,
      role: 'unknown',
      architecture: c.architecture,
      soc: c.soc,
      archOk: false,
      socOk: false,
      allowUnsigned: null,
      installedVersion: null,
      installedStatus: null,
      freeBytes: null,
      blockers: [],
      notes: [],
      ok: false,
    };
    const t = target(c);
    try {
      const info = await helper.call({ op: 'probe', target: t, requireAdmin: false }, 10_000);
      row.reachable = true;
      row.architecture = info.architecture;
      row.soc = info.soc;
      row.firmware = info.firmware;
    } catch (e) {
      row.blockers.push(`Not reachable: ${errText(e)}`);
      return row;
    }
    row.archOk = build.architecture === 'all' || build.architecture === row.architecture;
    if (!row.archOk) row.blockers.push(`The build is for ${build.architecture}; this camera is ${row.architecture || 'of unknown architecture'}. Choose a ${row.architecture} build.`);
    row.socOk = build.architecture !== 'aarch64' || AARCH64_SOCS.test(row.soc);
    if (!row.socOk) row.blockers.push(`SoC "${row.soc}" is not one this aarch64 build supports (ARTPEC-8/9).`);
    try {
      row.allowUnsigned = (await helper.call({ op: 'allowUnsigned', target: t }, 10_000)).allowUnsigned;
      row.role = 'administrator';
      const apps = (await helper.call({ op: 'listApps', target: t }, 10_000)).apps;
      const mine = apps.find((a) => a.name === build.app_name);
      row.installedVersion = mine?.version ?? null;
      row.installedStatus = mine?.status ?? null;
    } catch (e) {
      const msg = errText(e);
      if (/administrator|forbidden|role/i.test(msg)) {
        row.role = 'too_low';
        row.blockers.push(`User "${c.username}" is not an administrator on this camera. Enter an administrator account in the camera's settings.`);
      } else row.blockers.push(msg);
    }
    // Our builds are unsigned: the camera must accept unsigned apps, or the user must allow switching it on.
    if (row.allowUnsigned === false) {
      if (allowUnsigned) row.notes.push('AllowUnsigned is off: the deploy will switch it on (config.cgi).');
      else row.blockers.push('The camera only accepts signed apps (AllowUnsigned is off). Allow switching it on, or deploy a signed build.');
    }
    if (row.installedVersion === build.version && row.installedStatus === 'Running') row.notes.push(`Already runs ${build.version}; it will be reinstalled and verified.`);
    row.ok = row.blockers.length === 0;
    return row;
  };

  // ---- persistence ----
  const targetRow = (deployId: string, cameraId: string): TargetRow => db.prepare('SELECT * FROM deploy_targets WHERE deploy_id = ? AND camera_id = ?').get(deployId, cameraId) as TargetRow;
  const setTarget = (deployId: string, cameraId: string, patch: Partial<Omit<TargetRow, 'deploy_id' | 'camera_id'>>, persist = true): DeployTarget => {
    const r = { ...targetRow(deployId, cameraId), ...patch, updated_at: now() };
    if (persist)
      db.prepare(
        `UPDATE deploy_targets SET phase=@phase, outcome=@outcome, bytes_sent=@bytes_sent, bytes_total=@bytes_total, message=@message,
         previous_version=@previous_version, previous_sha=@previous_sha, final_version=@final_version, model_version=@model_version, updated_at=@updated_at WHERE deploy_id=@deploy_id AND camera_id=@camera_id`,
      ).run(r);
    const t = toTarget(r);
    bus.publish('deploy.progress', { deployId, target: t });
    return t;
  };
  const deployOf = (id: string): Deploy => {
    const d = db.prepare('SELECT * FROM deploys WHERE id = ?').get(id) as DeployRow | undefined;
    if (!d) throw notFound(`Deploy ${id}`);
    const b = getBuild(d.build_sha)!;
    const targets = (db.prepare('SELECT * FROM deploy_targets WHERE deploy_id = ? ORDER BY camera_name, camera_id').all(id) as TargetRow[]).map(toTarget);
    return { id: d.id, createdAt: d.created_at, finishedAt: d.finished_at, user: d.user, buildSha: d.build_sha, appName: b.app_name, version: b.version, fileName: b.file_name, status: d.status, retryOf: d.retry_of, modelVersion: d.model_version, approval: d.approval ? (JSON.parse(d.approval) as DeployApproval) : null, targets };
  };
  const step = (deployId: string, c: Camera, message: string, detail: Record<string, string | number | boolean | null> = {}): void => {
    audit.record({ kind: 'deploy.step', severity: 'info', source: c.id, message: `${c.name}: ${message}`, detail: { deployId, ...detail } });
  };

  // ---- one camera ----
  const heartbeatWaiter = (serial: string, version: string, since: number): { seen: () => boolean; stop: () => void } => {
    let hit = false;
    const stop = deps.subscribeMessages((m) => {
      if (m.kind === 'heartbeat' && m.serial === serial && m.body.version === version && m.receivedAt >= since) hit = true;
    });
    return { seen: () => hit, stop };
  };

  /** Starts `appName` and waits for list.cgi Running + version and a heartbeat with that version. */
  const startAndVerify = async (c: Camera, appName: string, version: string, timeoutMs: number, hb: { seen: () => boolean }, start = true): Promise<void> => {
    const t = target(c);
    if (start) {
      let r = await helper.call({ op: 'appControl', target: t, action: 'start', package: appName }, 20_000);
      if (!r.ok && r.code === 6) r = await helper.call({ op: 'appControl', target: t, action: 'restart', package: appName }, 20_000);
      if (!r.ok) throw new StepError(`control.cgi start refused: Error ${r.code ?? '?'} (${CONTROL_CODES[r.code ?? 0] ?? r.text})`);
    }
    const end = now() + timeoutMs;
    let listed = false;
    let lastStatus = '';
    while (now() < end) {
      const apps = (await helper.call({ op: 'listApps', target: t }, 10_000)).apps;
      const a = apps.find((x) => x.name === appName);
      lastStatus = a ? `${a.status} ${a.version}` : 'not installed';
      listed = !!a && a.status === 'Running' && a.version === version;
      if (a && a.status !== 'Running') {
        const logText = await helper.call({ op: 'appLog', target: t, app: appName }, 10_000).then((l) => l.text.trim().split('\n').slice(-3).join(' | '), () => '');
        throw new StepError(`the app stopped right after start (list.cgi: ${a.status})${logText ? `; its log: ${logText}` : ''}`);
      }
      if (listed && hb.seen()) return;
      // Between list.cgi polls, watch for the heartbeat closely: it usually follows within milliseconds.
      const next = Math.min(end, now() + pollMs);
      while (now() < next && !(listed && hb.seen())) await sleep(20);
      if (listed && hb.seen()) return;
    }
    if (!listed) throw new StepError(`list.cgi did not report ${appName} ${version} Running within ${Math.round(timeoutMs / 1000)} s (it shows ${lastStatus})`);
    throw new StepError(`no heartbeat reporting version ${version} arrived over MQTT within ${Math.round(timeoutMs / 1000)} s (list.cgi says Running): check the app's broker setting and the camera's MQTT client`);
  };

  const waitReachable = async (c: Camera, deadline: number): Promise<void> => {
    for (;;) {
      try {
        await helper.call({ op: 'listApps', target: target(c) }, 5000);
        return;
      } catch (e) {
        if (now() > deadline) throw new StepError(`the camera did not come back within ${Math.round(reconnectMs / 1000)} s (${errText(e)})`);
        await sleep(Math.min(1000, pollMs * 2));
      }
    }
  };

  const upload = async (deployId: string, c: Camera, sha: string, ctl: { cancelled: boolean; uploads: Set<string> }): Promise<void> => {
    const uploadId = `${deployId}:${c.id}:${randomUUID().slice(0, 8)}`;
    const size = fs.statSync(buildPath(sha)).size;
    let lastDb = 0;
    const off = deps.onHelperProgress((ev) => {
      if (ev.id !== uploadId || ev.sent === undefined) return;
      // Every report reaches the UI; the database gets one write a second.
      const persist = now() - lastDb > 1000;
      if (persist) lastDb = now();
      setTarget(deployId, c.id, { bytes_sent: ev.sent, bytes_total: ev.total ?? size }, persist);
    });
    ctl.uploads.add(uploadId);
    try {
      const r = await helper.call({ op: 'uploadApp', target: target(c), uploadId, file: buildPath(sha) }, 10 * 60_000);
      setTarget(deployId, c.id, { bytes_sent: r.sent, bytes_total: r.total });
      if (!r.ok) throw new StepError(`the camera refused the package: Error ${r.code ?? '?'} (${UPLOAD_CODES[r.code ?? 0] ?? r.text})`);
    } catch (e) {
      if (ctl.cancelled) throw new StepError('cancelled during upload');
      throw e instanceof StepError ? e : new StepError(`upload failed: ${errText(e)}`);
    } finally {
      ctl.uploads.delete(uploadId);
      off();
    }
  };

  const recordInstalled = (c: Camera, appName: string, version: string, sha: string | null): void => {
    db.prepare(
      `INSERT INTO deploy_installed (camera_id, app_name, version, build_sha, recorded_at) VALUES (?,?,?,?,?)
       ON CONFLICT (camera_id) DO UPDATE SET app_name=excluded.app_name, version=excluded.version, build_sha=excluded.build_sha, recorded_at=excluded.recorded_at`,
    ).run(c.id, appName, version, sha, now());
  };

  const refreshKey = async (c: Camera): Promise<void> => {
    try {
      const id = await helper.call({ op: 'identity', target: target(c) }, 10_000);
      registry.update(c.id, { publicKey: id.publicKey, keyId: id.key });
    } catch (e) {
      log.warn({ camera: c.id, err: errText(e) }, 'deployed, but the new signing key could not be read');
    }
  };

  const agentNote = async (c: Camera, appName: string): Promise<string> => {
    const text = await helper.call({ op: 'appLog', target: target(c), app: appName }, 10_000).then((l) => l.text, () => '');
    return /built-in agent/i.test(text) ? ' — this camera has no aarch64 emulator: its built-in agent runs, reporting the package version' : '';
  };

  const runTarget = async (deployId: string, c: Camera, build: BuildRow, opts: Options, ctl: { cancelled: boolean; uploads: Set<string> }): Promise<void> => {
    const t = target(c);
    const appName = build.app_name;
    let row = targetRow(deployId, c.id);
    if (ctl.cancelled) {
      setTarget(deployId, c.id, { phase: 'done', outcome: 'cancelled', message: `cancelled before anything was sent; still runs ${row.previous_version ?? 'what it ran'}` });
      return;
    }
    // 1. Record what the camera runs now, so it can be put back.
    try {
      setTarget(deployId, c.id, { phase: 'preflight', message: 'checking the camera' });
      // The two reads are independent: one round trip of waiting instead of two.
      const needPrev = row.previous_version === null && row.previous_sha === null;
      const [listed, allow] = await Promise.all([
        needPrev ? helper.call({ op: 'listApps', target: t }, 10_000) : undefined,
        helper.call({ op: 'allowUnsigned', target: t }, 10_000).then((r) => r.allowUnsigned),
      ]);
      if (listed) {
        const apps = listed.apps;
        const cur = apps.find((a) => a.name === appName);
        const known = db.prepare('SELECT * FROM deploy_installed WHERE camera_id = ?').get(c.id) as { version: string; build_sha: string | null } | undefined;
        const prevSha = cur && known && known.version === cur.version && known.build_sha && fs.existsSync(buildPath(known.build_sha)) ? known.build_sha : null;
        row = { ...row, previous_version: cur?.version ?? null, previous_sha: prevSha };
        setTarget(deployId, c.id, { previous_version: row.previous_version, previous_sha: prevSha });
        step(deployId, c, `runs ${cur ? `${appName} ${cur.version} (${cur.status})` : `no ${appName}`} before the deploy`, { previousVersion: cur?.version ?? null, previousSha: prevSha });
      }
      if (allow === false) {
        if (!opts.allowUnsigned) throw new StepError('the camera only accepts signed apps (AllowUnsigned is off) and switching it on was not allowed');
        await helper.call({ op: 'allowUnsigned', target: t, set: true }, 10_000);
        step(deployId, c, 'switched AllowUnsigned on');
      }
      // 2. Upload with byte progress.
      setTarget(deployId, c.id, { phase: 'upload', message: `uploading ${build.file_name}`, bytes_sent: 0, bytes_total: build.bytes });
      step(deployId, c, `uploading ${build.file_name} (${build.bytes} bytes)`);
      await upload(deployId, c, build.sha256, ctl);
      // 3. Start and 4. verify.
      setTarget(deployId, c.id, { phase: 'start', message: `starting ${appName} ${build.version}` });
      step(deployId, c, `installed ${appName} ${build.version}; starting it`);
      const hb = heartbeatWaiter(c.serial, build.version, now());
      try {
        setTarget(deployId, c.id, { phase: 'verify', message: `waiting for list.cgi Running ${build.version} and a heartbeat reporting it` });
        await startAndVerify(c, appName, build.version, opts.verifyTimeoutMs, hb);
      } finally {
        hb.stop();
      }
      recordInstalled(c, appName, build.version, build.sha256);
      const [, note] = await Promise.all([refreshKey(c), agentNote(c, appName)]);
      // The model travels inside the package, so a verified install means the camera has it.
      const modelV = build.model_version;
      const what = `${build.version}${modelV !== null ? ` with model v${modelV}` : ''}`;
      setTarget(deployId, c.id, { phase: 'done', outcome: 'verified', final_version: build.version, model_version: modelV, message: `running ${what} (verified)${note}` });
      step(deployId, c, `running ${what} (verified)${note}`, { version: build.version, modelVersion: modelV });
    } catch (e) {
      const reason = errText(e);
      row = targetRow(deployId, c.id);
      await rollback(deployId, c, build, row, reason, opts);
    }
  };

  const rollback = async (deployId: string, c: Camera, build: BuildRow, row: TargetRow, reason: string, opts: Options): Promise<void> => {
    const t = target(c);
    const appName = build.app_name;
    const prevV = row.previous_version;
    setTarget(deployId, c.id, { phase: 'rollback', message: `${reason}; rolling back${prevV ? ` to ${prevV}` : ''}` });
    audit.record({ kind: 'deploy.rollback', severity: 'warning', source: c.id, message: `${c.name}: ${build.version} failed (${reason}); rolling back${prevV ? ` to ${prevV}` : ''}`, detail: { deployId, reason, previousVersion: prevV } });
    try {
      await waitReachable(c, now() + reconnectMs);
      const apps = (await helper.call({ op: 'listApps', target: t }, 10_000)).apps;
      const cur = apps.find((a) => a.name === appName);
      if (prevV === null) {
        // Nothing ran before: put the camera back to that.
        if (cur) {
          if (cur.status === 'Running') await helper.call({ op: 'appControl', target: t, action: 'stop', package: appName }, 20_000);
          await helper.call({ op: 'appControl', target: t, action: 'remove', package: appName }, 20_000);
        }
        setTarget(deployId, c.id, { phase: 'done', outcome: 'rolled_back', final_version: null, message: `rolled back to no ${appName} (it had none): ${reason}` });
        step(deployId, c, `rolled back: removed ${appName}; reason: ${reason}`);
        return;
      }
      const hb = heartbeatWaiter(c.serial, prevV, now());
      try {
        let start = true;
        if (cur?.version === prevV) {
          // The previous app is still installed (upload refused, dropped, or never sent): keep or restart it.
          start = cur.status !== 'Running';
        } else if (row.previous_sha) {
          setTarget(deployId, c.id, { message: `re-sending ${prevV}`, bytes_sent: 0 });
          const r = await helper.call({ op: 'uploadApp', target: t, uploadId: `${deployId}:${c.id}:rollback`, file: buildPath(row.previous_sha) }, 10 * 60_000);
          if (!r.ok) throw new StepError(`the camera refused the previous package: Error ${r.code ?? '?'} (${UPLOAD_CODES[r.code ?? 0] ?? r.text})`);
          step(deployId, c, `re-sent ${prevV}`);
        } else {
          throw new StepError(`${prevV} was not installed by this app, so its package is not kept here and cannot be re-sent; the camera has ${cur ? `${cur.version} (${cur.status})` : `no ${appName}`}`);
        }
        await startAndVerify(c, appName, prevV, opts.verifyTimeoutMs, hb, start);
      } finally {
        hb.stop();
      }
      recordInstalled(c, appName, prevV, row.previous_sha);
      await refreshKey(c);
      setTarget(deployId, c.id, { phase: 'done', outcome: 'rolled_back', final_version: prevV, message: `rolled back to ${prevV} (verified): ${reason}` });
      step(deployId, c, `rolled back to ${prevV} (verified); reason: ${reason}`, { version: prevV });
    } catch (e) {
      const why = errText(e);
      setTarget(deployId, c.id, { phase: 'done', outcome: 'failed', final_version: null, message: `${reason}; the rollback failed too: ${why}` });
      audit.record({ kind: 'deploy.failed', severity: 'critical', source: c.id, message: `${c.name}: deploy of ${build.version} failed (${reason}) and the rollback failed (${why}). Check the camera.`, detail: { deployId, reason, rollback: why } });
    }
  };

  // ---- a deploy ----
  const run = (deployId: string, build: BuildRow, cameras: Camera[], opts: Options): void => {
    const ctl = { cancelled: false, uploads: new Set<string>(), done: Promise.resolve() };
    const queue = [...cameras];
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        try {
          await runTarget(deployId, c, build, opts, ctl);
        } catch (e) {
          log.error({ err: errText(e), camera: c.id }, 'deploy step failed unexpectedly');
          setTarget(deployId, c.id, { phase: 'done', outcome: 'failed', message: `internal error: ${errText(e)}` });
        }
      }
    };
    ctl.done = Promise.all(Array.from({ length: Math.min(opts.concurrency, cameras.length) }, worker)).then(() => {
      if (closed) return;
      const status = ctl.cancelled ? 'cancelled' : 'done';
      db.prepare('UPDATE deploys SET status = ?, finished_at = ? WHERE id = ?').run(status, now(), deployId);
      running.delete(deployId);
      const d = deployOf(deployId);
      const counts = d.targets.reduce<Record<string, number>>((a, t) => ((a[t.outcome] = (a[t.outcome] ?? 0) + 1), a), {});
      audit.record({ kind: 'deploy.step', severity: 'info', source: 'deploy', message: `Deploy of ${d.appName} ${d.version} ${status}: ${Object.entries(counts).map(([k, v]) => `${v} ${k.replace('_', ' ')}`).join(', ')}`, detail: { deployId } });
      bus.publish('deploy.changed', { deployId, status });
    });
    running.set(deployId, ctl);
  };

  const create = (
    buildSha: string,
    cameraIds: string[],
    opts: Options,
    ctx: CallContext | { who: string; approval: DeployApproval },
    retryOf: string | null,
    previous?: Map<string, TargetRow>,
  ): string => {
    const build = getBuild(buildSha);
    if (!build) throw notFound(`Build ${buildSha.slice(0, 12)}`);
    const problems = JSON.parse(build.problems) as string[];
    if (problems.length) throw new AppError('invalid_input', `${build.file_name} cannot be deployed: ${problems.join('; ')}. Fix the manifest and rebuild.`);
    if (!fs.existsSync(buildPath(buildSha))) throw new AppError('not_found', `The package file for ${build.file_name} is missing from ${buildsDir}. Add the build again.`);
    const cams = [...new Set(cameraIds)].map(camera);
    const id = randomUUID();
    const approval = 'approval' in ctx ? ctx.approval : null;
    const user = 'who' in ctx ? ctx.who : `${os.userInfo().username} via ${ctx.transport}`;
    db.transaction(() => {
      db.prepare('INSERT INTO deploys (id, created_at, user, build_sha, status, options, retry_of, approval, model_version) VALUES (?,?,?,?,?,?,?,?,?)').run(
        id, now(), user, buildSha, 'running', JSON.stringify(opts), retryOf, approval ? JSON.stringify(approval) : null, build.model_version,
      );
      const ins = db.prepare(
        'INSERT INTO deploy_targets (deploy_id, camera_id, camera_name, phase, outcome, bytes_total, message, previous_version, previous_sha, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)',
      );
      // A resumed camera keeps what it ran before the interrupted deploy, so the rollback still knows it.
      for (const c of cams) ins.run(id, c.id, c.name, 'queued', 'pending', build.bytes, 'queued', previous?.get(c.id)?.previous_version ?? null, previous?.get(c.id)?.previous_sha ?? null, now());
    })();
    if (approval)
      audit.record({
        kind: 'deploy.approved', severity: 'info', source: 'deploy',
        message: `${user} approved a deploy of ${build.app_name} ${build.version} (${build.file_name}) to ${cams.length} camera(s); it starts now`,
        detail: { deployId: id, build: buildSha, roomId: approval.roomId, proposalId: approval.proposalId, decisionId: approval.decisionId },
      });
    audit.record({ kind: 'deploy.step', severity: 'info', source: 'deploy', message: `${user} started a deploy of ${build.app_name} ${build.version} (${build.file_name}) to ${cams.length} camera(s)`, detail: { deployId: id, build: buildSha, cameras: cams.map((c) => c.id).join(',') } });
    bus.publish('deploy.changed', { deployId: id, status: 'running' });
    run(id, build, cams, opts);
    return id;
  };

  // An app restart cut these short: say so, truthfully, and offer to resume.
  const interrupted = db.prepare("SELECT id FROM deploys WHERE status = 'running'").all() as { id: string }[];
  for (const { id } of interrupted) {
    db.prepare("UPDATE deploy_targets SET outcome = 'interrupted', message = 'the app stopped during ' || phase || '; the camera may run either version — retry to resume and verify', updated_at = ? WHERE deploy_id = ? AND outcome = 'pending'").run(now(), id);
    db.prepare("UPDATE deploys SET status = 'interrupted', finished_at = ? WHERE id = ?").run(now(), id);
    audit.record({ kind: 'deploy.failed', severity: 'warning', source: 'deploy', message: `A deploy was interrupted by an app restart; open Deploy → History to resume it`, detail: { deployId: id } });
  }

  const handlers: Handlers = {
    'deploy.builds': async () => {
      await importNative();
      const builds = (db.prepare('SELECT * FROM deploy_builds ORDER BY added_at DESC, file_name').all() as BuildRow[]).map(toBuild);
      return { builds, nativeDir: deps.nativeDir ?? null };
    },
    'deploy.addBuild': async ({ path: file }) => {
      let data: Buffer;
      try {
        data = await fs.promises.readFile(file);
      } catch (e) {
        throw new AppError('not_found', `Cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? errText(e)}). Check the path.`);
      }
      return addBuildBytes(data, path.basename(file), 'file');
    },
    'deploy.buildNative': async ({ buildId, crashAtStart, version }) => {
      if (!deps.nativeDir) throw new AppError('unavailable', 'This installation has no native/ folder to build from. Choose an .eap file instead.');
      const off = deps.onHelperProgress((ev) => {
        if (ev.id === buildId && ev.line !== undefined) bus.publish('deploy.buildLog', { buildId, line: ev.line });
      });
      try {
        const r = await helper.call({ op: 'buildCameraApp', buildId, nativeDir: deps.nativeDir, crashAtStart, version }, 5 * 60_000);
        const build = await addBuildBytes(fs.readFileSync(r.path), crashAtStart ? `crash-at-start/${r.fileName}` : r.fileName, 'native');
        seen.set(r.path, fs.statSync(r.path).mtimeMs);
        return { build, logTail: r.logTail, buildMs: r.buildMs };
      } catch (e) {
        throw e instanceof AppError ? e : new AppError('failed', `The build failed: ${errText(e)}`);
      } finally {
        off();
      }
    },
    'deploy.installed': async ({ cameraIds }) => {
      const cams = cameraIds ? cameraIds.map(camera) : registry.list().filter((c) => !c.demo || c.demoActive);
      const out: { cameraId: string; version: string | null; status: string | null; error: string | null }[] = [];
      const q = [...cams];
      await Promise.all(
        Array.from({ length: Math.min(8, q.length) }, async () => {
          for (let c = q.shift(); c; c = q.shift()) {
            try {
              const a = (await helper.call({ op: 'listApps', target: target(c) }, 10_000)).apps.find((x) => x.name === 'omnisight');
              out.push({ cameraId: c.id, version: a?.version ?? null, status: a?.status ?? null, error: null });
            } catch (e) {
              out.push({ cameraId: c.id, version: null, status: null, error: errText(e) });
            }
          }
        }),
      );
      return { cameras: out.sort((a, b) => a.cameraId.localeCompare(b.cameraId)) };
    },
    'deploy.preflight': async ({ buildSha, cameraIds, allowUnsigned }) => {
      const build = getBuild(buildSha);
      if (!build) throw notFound(`Build ${buildSha.slice(0, 12)}`);
      const cams = [...new Set(cameraIds)].map(camera);
      const rows = new Array<PreflightRow>(cams.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(8, cams.length) }, async () => {
          while (next < cams.length) {
            const i = next++;
            rows[i] = await preflightOne(cams[i]!, build, allowUnsigned);
          }
        }),
      );
      return { rows };
    },
    'deploy.start': async ({ buildSha, cameraIds, allowUnsigned, concurrency, verifyTimeoutMs, modelVersion }, ctx) => {
      const sha = modelVersion === undefined ? buildSha : (await withModel(buildSha, modelVersion)).sha256;
      return { deployId: create(sha, cameraIds, { allowUnsigned, concurrency, verifyTimeoutMs }, ctx, null) };
    },
    'deploy.cancel': ({ deployId }) => {
      const ctl = running.get(deployId);
      if (!ctl) return { cancelled: false };
      ctl.cancelled = true;
      for (const u of ctl.uploads) helper.call({ op: 'cancelUpload', uploadId: u }).catch(() => undefined);
      audit.record({ kind: 'deploy.step', severity: 'info', source: 'deploy', message: 'Deploy cancelled: no new cameras; uploads in flight abort and roll back', detail: { deployId } });
      return { cancelled: true };
    },
    'deploy.retry': ({ deployId }, ctx) => {
      const d = db.prepare('SELECT * FROM deploys WHERE id = ?').get(deployId) as DeployRow | undefined;
      if (!d) throw notFound(`Deploy ${deployId}`);
      if (d.status === 'running') throw new AppError('conflict', 'This deploy is still running. Wait for it to finish, or cancel it first.');
      const rows = (db.prepare("SELECT * FROM deploy_targets WHERE deploy_id = ? AND outcome != 'verified'").all(deployId) as TargetRow[]).filter((r) => registry.get(r.camera_id));
      if (rows.length === 0) throw new AppError('conflict', 'Every camera of this deploy already runs the new version (verified). Nothing to retry.');
      const opts = JSON.parse(d.options) as Options;
      const prev = new Map(rows.filter((r) => r.outcome === 'interrupted').map((r) => [r.camera_id, r]));
      return { deployId: create(d.build_sha, rows.map((r) => r.camera_id), opts, ctx, deployId, prev), cameras: rows.length };
    },
    'deploy.history': ({ limit }) => ({
      deploys: (db.prepare('SELECT id FROM deploys ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as { id: string }[]).map((r) => deployOf(r.id)),
    }),
    'deploy.get': ({ deployId }) => deployOf(deployId),
  };

  /** The build with the model version added (made once, then kept by content hash). */
  const withModel = async (baseSha: string, version: number): Promise<BuildRow> => {
    const base = getBuild(baseSha);
    if (!base) throw notFound(`Build ${baseSha.slice(0, 12)}`);
    if (base.model_version !== null) throw new AppError('invalid_input', `${base.file_name} already carries model v${base.model_version}. Choose the plain build to ship another model.`);
    const made = db.prepare('SELECT * FROM deploy_builds WHERE base_sha = ? AND model_version = ? ORDER BY added_at DESC').get(baseSha, version) as BuildRow | undefined;
    if (made && fs.existsSync(buildPath(made.sha256))) return made;
    if (!deps.models) throw new AppError('unavailable', 'Federated models are not available in this installation. Deploy without a model.');
    const model = deps.models(version);
    if (!model) throw new AppError('not_found', `Model version ${version} is not stored. Choose one from the federated models list, or deploy without a model.`);
    if (!fs.existsSync(buildPath(baseSha))) throw new AppError('not_found', `The package file for ${base.file_name} is missing from ${buildsDir}. Add the build again.`);
    let built;
    try {
      built = await addModelToEap(fs.readFileSync(buildPath(baseSha)), model);
    } catch (e) {
      throw new AppError('invalid_input', `Model v${version} cannot be added to ${base.file_name}: ${errText(e)}.`);
    }
    const fileName = `${base.file_name.replace(/\.eap$/, '')}+model-v${version}.eap`;
    const b = await addBuildBytes(built.data, fileName, base.source);
    db.prepare('UPDATE deploy_builds SET base_sha = ?, model_version = ? WHERE sha256 = ?').run(baseSha, version, b.sha256);
    audit.record({ kind: 'deploy.step', severity: 'info', source: 'deploy', message: `Model v${version} added to ${base.file_name} as ${fileName}`, detail: { base: baseSha, build: b.sha256, modelVersion: version, modelSha256: built.model.sha256 } });
    return getBuild(b.sha256)!;
  };

  const resolveBuild = (ref: string): BuildRow => {
    const bySha = /^[0-9a-f]{64}$/.test(ref) ? getBuild(ref) : undefined;
    const rows = bySha ? [bySha] : (db.prepare('SELECT * FROM deploy_builds WHERE file_name = ? ORDER BY added_at DESC').all(ref) as BuildRow[]);
    if (rows.length === 0) throw new AppError('not_found', `No build "${ref}" is known to the app. Name one from the Deploy view's builds by its sha256 or file name.`);
    if (rows.length > 1) throw new AppError('conflict', `${rows.length} builds are named "${ref}". Name the one you mean by its sha256: ${rows.map((r) => r.sha256.slice(0, 12)).join(', ')}.`);
    const b = rows[0]!;
    const problems = JSON.parse(b.problems) as string[];
    if (problems.length) throw new AppError('invalid_input', `${b.file_name} cannot be deployed: ${problems.join('; ')}.`);
    return b;
  };

  return {
    handlers,
    resolve(ref, cameraIds) {
      const b = resolveBuild(ref);
      const unknown = cameraIds.filter((c) => !registry.get(c));
      if (unknown.length) throw new AppError('not_found', `Unknown camera id(s): ${unknown.join(', ')}. Read the fleet's state (fleet_status) for the ids.`);
      if (cameraIds.length === 0) throw new AppError('invalid_input', 'Name at least one camera to deploy to.');
      return { build: toBuild(b), cameras: [...new Set(cameraIds)].map((c) => ({ id: c, name: registry.get(c)!.name })) };
    },
    startApproved: ({ buildSha, cameraIds, who, approval }) => create(buildSha, cameraIds, { allowUnsigned: true, concurrency: 8, verifyTimeoutMs: 20_000 }, { who, approval }, null),
    get: (deployId) => deployOf(deployId),
    async idle() {
      while (running.size) await Promise.all([...running.values()].map((r) => r.done));
    },
    async close() {
      closed = true;
      for (const [, ctl] of running) {
        ctl.cancelled = true;
        for (const u of ctl.uploads) helper.call({ op: 'cancelUpload', uploadId: u }).catch(() => undefined);
      }
      // Leave running rows as they are: the next start reports them as interrupted.
    },
  };
}
