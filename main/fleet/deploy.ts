// One-click deploy, driving the helper: builds kept by content hash, a preflight per camera, then a
// staged rollout (a canary set first, verified, then the rest; the first failure stops it) with
// bounded concurrency: upload (byte progress) → start → verify → on any failure re-send and start
// what ran before and verify that the same way. Verified means what the product relies on: list.cgi
// Running, identity.cgi over the pinned HTTPS channel still naming the enrolled key, and the swarm
// coordinator accepting signed reports from the new version under that key and a fresh epoch
// (verdict.ts). Every step is written to SQLite before it is taken, so a deploy cut short by an
// app restart is reported as interrupted and can be resumed.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { deploySchema, type Deploy, type DeployApproval, type DeployBuild, type DeployTarget, type PreflightRow } from '../../preload/contract/deploy';
import type { CameraId } from '../../preload/contract/camera-id';
import type { Camera } from '../../preload/contract/fleet';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { CallContext, Handlers } from '../kernel/dispatcher';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { HelperTarget } from '../helper';
import { readEap } from '../packaging';
import type { Enrolment } from './enrolment';
import { acceptanceVerdict, compareVersions, stageSizes, type CameraAcceptance } from './verdict';
import { addModelToEap, type ModelArtifact } from './model-package';
import type { Db } from '../store';
import type { Registry } from './registry';
import { deployStatements, type BuildRow, type DeployRow, type TargetRow } from './statements';
import type { HelperSupervisor } from './supervisor';

export interface DeployDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  audit: AuditLog;
  now: () => number;
  dataDir: string;
  helper: Pick<HelperSupervisor, 'call'>;
  registry: Pick<Registry, 'get' | 'list' | 'password' | 'update' | 'keyOf'>;
  /** The pinned HTTPS channel: identity.cgi after a start, and the key of a first install. */
  enrolment: Pick<Enrolment, 'read' | 'enrol'>;
  /** The swarm coordinator's view of a camera (SwarmService.acceptanceOf): what "verified" rests on. */
  acceptanceOf: (serial: string) => CameraAcceptance | undefined;
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
  resolve(build: string, cameraIds: readonly CameraId[]): { build: DeployBuild; cameras: { id: CameraId; name: string }[] };
  /** Starts a deploy a room decision approved; `who` goes into the history and the audit. */
  startApproved(input: { buildSha: string; cameraIds: CameraId[]; who: string; approval: DeployApproval }): string;
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

// The JSON columns, decoded by schema too (options written by older versions lack the newer fields).
const optionsSchema = z.object({
  allowUnsigned: z.boolean(),
  allowDowngrade: z.boolean().optional(),
  canary: z.number().int().optional(),
  concurrency: z.number().int(),
  verifyTimeoutMs: z.number().int(),
});
type Options = z.infer<typeof optionsSchema>;
const problemsSchema = z.array(z.string());
const approvalSchema = deploySchema.shape.approval.unwrap();
const parseJson = <T,>(schema: z.ZodType<T>, text: string): T => schema.parse(JSON.parse(text));

const toBuild = (r: BuildRow): DeployBuild => ({
  sha256: r.sha256,
  fileName: r.file_name,
  appName: r.app_name,
  version: r.version,
  architecture: r.architecture,
  bytes: r.bytes,
  source: r.source,
  addedAt: r.added_at,
  problems: parseJson(problemsSchema, r.problems),
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
  stage: r.stage,
  updatedAt: r.updated_at,
});

class StepError extends Error {}
/** Not tried: a guardrail refused the camera before anything was sent. */
class Refused extends Error {}

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
  const q = deployStatements(db);
  const getBuild = (sha: string): BuildRow | undefined => q.build.get(sha);

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
    q.upsertBuild(info.sha256, fileName, info.appName, info.version, info.architecture ?? 'all', data.length, source, JSON.stringify(info.problems), now());
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
  const camera = (id: CameraId): Camera => {
    const c = registry.get(id);
    if (!c) throw notFound(`Camera ${id}`);
    return c;
  };
  const target = (c: Camera): HelperTarget => ({ host: c.host, port: c.port, username: c.username, password: registry.password(c.id) });
  const enrolledKey = (c: Camera): string | undefined => registry.keyOf(c.id)?.keyId;

  const preflightOne = async (c: Camera, build: BuildRow, allowUnsigned: boolean, allowDowngrade: boolean): Promise<PreflightRow> => {
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
      downgrade: false,
      refusesUnsigned: null,
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
    // Builds made here are not signed by Axis: AXIS OS 12+ refuses them unless AllowUnsigned is on,
    // which is switched only when the user asks for it in this deploy.
    if (row.allowUnsigned === false) {
      row.refusesUnsigned = `AXIS OS ${row.firmware || '12+'} refuses unsigned apps: its AllowUnsigned setting is off (the default since AXIS OS 12.0; AXIS OS 13 removes it and requires apps signed by Axis)`;
      if (allowUnsigned) row.notes.push(`${row.refusesUnsigned}. This deploy switches AllowUnsigned on (config.cgi), as you asked.`);
      else if (build.source === 'native')
        row.blockers.push(`${row.refusesUnsigned}. ${build.file_name} is built here and not signed by Axis: tick "Switch AllowUnsigned on" for this deploy, or deploy an Axis-signed build.`);
      else row.notes.push(`${row.refusesUnsigned}. Unless ${build.file_name} is signed by Axis the camera will refuse it (Error 2); tick "Switch AllowUnsigned on" to allow an unsigned one.`);
    } else if (row.allowUnsigned === true) row.notes.push('Accepts unsigned apps (AllowUnsigned is on).');
    if (row.installedVersion && compareVersions(build.version, row.installedVersion) < 0) {
      row.downgrade = true;
      if (allowDowngrade) row.notes.push(`Downgrade from ${row.installedVersion} to ${build.version}, as you chose.`);
      else row.blockers.push(`Runs ${row.installedVersion}, newer than ${build.version}: this is a downgrade. Choose "Allow downgrade" to install the older version.`);
    }
    if (!enrolledKey(c)) row.notes.push('No signing key is enrolled yet: it is read over the pinned HTTPS certificate after the install.');
    if (row.installedVersion === build.version && row.installedStatus === 'Running') row.notes.push(`Already runs ${build.version}; it will be reinstalled and verified.`);
    row.ok = row.blockers.length === 0;
    return row;
  };

  // ---- persistence ----
  const targetRow = (deployId: string, cameraId: CameraId): TargetRow => {
    const r = q.target.get(deployId, cameraId);
    if (!r) throw new Error(`no target row for camera ${cameraId} in deploy ${deployId}`);
    return r;
  };
  const setTarget = (deployId: string, cameraId: CameraId, patch: Partial<Omit<TargetRow, 'deploy_id' | 'camera_id'>>, persist = true): DeployTarget => {
    const r = { ...targetRow(deployId, cameraId), ...patch, updated_at: now() };
    if (persist) q.updateTarget(r);
    const t = toTarget(r);
    bus.publish('deploy.progress', { deployId, target: t });
    return t;
  };
  const deployOf = (id: string): Deploy => {
    const d: DeployRow | undefined = q.deploy.get(id);
    if (!d) throw notFound(`Deploy ${id}`);
    const b = getBuild(d.build_sha)!;
    const targets = q.targets.all(id).map(toTarget);
    const opts = parseJson(optionsSchema.partial(), d.options);
    const stages = [0, 1].map((s) => targets.filter((t) => t.stage === s).length).filter((n) => n > 0);
    return { stages, stopped: d.stopped_reason, allowUnsigned: opts.allowUnsigned ?? false, allowDowngrade: opts.allowDowngrade ?? false, id: d.id, createdAt: d.created_at, finishedAt: d.finished_at, user: d.user, buildSha: d.build_sha, appName: b.app_name, version: b.version, fileName: b.file_name, status: d.status, retryOf: d.retry_of, modelVersion: d.model_version, approval: d.approval ? parseJson(approvalSchema, d.approval) : null, targets };
  };
  const step = (deployId: string, c: Camera, message: string, detail: Record<string, string | number | boolean | null> = {}): void => {
    audit.record({ kind: 'deploy.step', severity: 'info', source: c.id, message: `${c.name}: ${message}`, detail: { deployId, ...detail } });
  };

  // ---- one camera ----
  /** Starts `appName` (unless `start` is false) and polls list.cgi until it runs `version`; a stopped app fails with its log. */
  const startAndList = async (c: Camera, appName: string, version: string, end: number, start = true): Promise<void> => {
    const t = target(c);
    if (start) {
      let r = await helper.call({ op: 'appControl', target: t, action: 'start', package: appName }, 20_000);
      if (!r.ok && r.code === 6) r = await helper.call({ op: 'appControl', target: t, action: 'restart', package: appName }, 20_000);
      if (!r.ok) throw new StepError(`control.cgi start refused: Error ${r.code ?? '?'} (${CONTROL_CODES[r.code ?? 0] ?? r.text})`);
    }
    let lastStatus = '';
    while (now() < end) {
      const apps = (await helper.call({ op: 'listApps', target: t }, 10_000)).apps;
      const a = apps.find((x) => x.name === appName);
      lastStatus = a ? `${a.status} ${a.version}` : 'not installed';
      if (a && a.status !== 'Running') {
        const logText = await helper.call({ op: 'appLog', target: t, app: appName }, 10_000).then((l) => l.text.trim().split('\n').slice(-3).join(' | '), () => '');
        throw new StepError(`the app stopped right after start (list.cgi: ${a.status})${logText ? `; its log: ${logText}` : ''}`);
      }
      if (a?.version === version) return;
      await sleep(Math.min(pollMs, 200));
    }
    throw new StepError(`list.cgi did not report ${appName} ${version} Running in time (it shows ${lastStatus})`);
  };

  /**
   * identity.cgi over the pinned HTTPS channel: the running app reports `version` and signs with the
   * enrolled key. A camera without an enrolled key (first install) has it enrolled here; a different
   * key is a failed check, never silently re-enrolled (a rotation is an explicit step).
   */
  const checkIdentity = async (c: Camera, appName: string, version: string, end: number): Promise<number | null> => {
    let last = 'no answer';
    while (now() < end) {
      try {
        const id = await deps.enrolment.read(c, { timeoutMs: Math.max(1000, Math.min(8000, end - now())) });
        if (id.version === version) {
          const key = enrolledKey(c);
          if (!key) {
            deps.enrolment.enrol(c, id, 'first install');
            step(runningDeploy.get(c.id) ?? '', c, `signing key ${id.key} enrolled over the pinned HTTPS certificate (first install)`);
          } else if (id.key !== key)
            throw new StepError(`the app signs with key ${id.key}, not the enrolled key ${key}, so the swarm refuses its reports (identity.cgi over the pinned HTTPS certificate)`);
          return id.epoch;
        }
        last = `it reports version ${id.version}`;
      } catch (e) {
        if (e instanceof StepError) throw e;
        // A changed certificate stops the deploy on this camera: nothing more is read from it.
        if (e instanceof AppError && e.code === 'conflict') throw new StepError(e.message);
        last = errText(e);
        // No answer: an app that stopped says why in its log.
        await startAndList(c, appName, version, now() + 1, false).catch((err: unknown) => {
          if (err instanceof StepError && /stopped right after start/.test(err.message)) throw err;
        });
      }
      await sleep(Math.min(pollMs, 200));
    }
    throw new StepError(`identity.cgi over HTTPS did not confirm version ${version} in time (${last})`);
  };

  /** Polls the swarm's acceptance until the verdict holds; otherwise says which check failed. */
  const awaitAcceptance = async (c: Camera, version: string, since: number, before: Pick<CameraAcceptance, 'accepted' | 'epoch'>, epoch: number | null, end: number, restarted: boolean): Promise<void> => {
    for (;;) {
      const v = acceptanceVerdict(deps.acceptanceOf(c.serial), { version, key: enrolledKey(c), since, before, epoch, restarted });
      if (v.ok) return;
      // A quarantine lasts until the user releases it: waiting cannot change this verdict.
      if (now() >= end || v.check === 'quarantined') throw new StepError(`not accepted by the swarm (${v.check} check): ${v.reason}`);
      await sleep(Math.min(pollMs, 100));
    }
  };

  /**
   * The whole verification of `version` on a camera, within `timeoutMs`: list.cgi Running, the pinned
   * identity, and the swarm accepting its signed reports under the enrolled key and a fresh epoch
   * (when the app was (re)started; `beforeEpoch` is the swarm's epoch before the upload).
   */
  const verify = async (c: Camera, appName: string, version: string, timeoutMs: number, o: { start: boolean; beforeEpoch: number | undefined }): Promise<void> => {
    const end = now() + timeoutMs;
    const snapshot = deps.acceptanceOf(c.serial);
    const before = { accepted: snapshot?.accepted ?? 0, epoch: o.start ? o.beforeEpoch : undefined };
    const since = now();
    await startAndList(c, appName, version, end, o.start);
    const epoch = await checkIdentity(c, appName, version, end);
    await awaitAcceptance(c, version, since, before, epoch, end, o.start);
  };
  const runningDeploy = new Map<string, string>(); // camera id → deploy id, for audit lines

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
    q.recordInstalled(c.id, appName, version, sha, now());
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
        const known = q.installed.get(c.id);
        const prevSha = cur && known && known.version === cur.version && known.build_sha && fs.existsSync(buildPath(known.build_sha)) ? known.build_sha : null;
        row = { ...row, previous_version: cur?.version ?? null, previous_sha: prevSha };
        setTarget(deployId, c.id, { previous_version: row.previous_version, previous_sha: prevSha });
        step(deployId, c, `runs ${cur ? `${appName} ${cur.version} (${cur.status})` : `no ${appName}`} before the deploy`, { previousVersion: cur?.version ?? null, previousSha: prevSha });
      }
      // Guardrails, before anything is sent.
      if (row.previous_version && compareVersions(build.version, row.previous_version) < 0 && !opts.allowDowngrade)
        throw new Refused(`not sent: it runs ${row.previous_version}, newer than ${build.version}, and a downgrade was not allowed for this deploy`);
      if (allow === false) {
        if (!opts.allowUnsigned && build.source === 'native')
          throw new Refused(`not sent: the camera refuses unsigned apps (AllowUnsigned is off) and ${build.file_name} is not signed by Axis; switching AllowUnsigned on was not asked for in this deploy`);
        if (opts.allowUnsigned) {
          await helper.call({ op: 'allowUnsigned', target: t, set: true }, 10_000);
          step(deployId, c, 'switched AllowUnsigned on, as this deploy asked');
          audit.record({ kind: 'deploy.allow_unsigned', severity: 'warning', source: c.id, message: `${c.name}: AllowUnsigned switched on for the deploy of ${build.file_name}, as the user asked`, detail: { deployId } });
        }
      }
      const beforeEpoch = deps.acceptanceOf(c.serial)?.epoch;
      // 2. Upload with byte progress.
      setTarget(deployId, c.id, { phase: 'upload', message: `uploading ${build.file_name}`, bytes_sent: 0, bytes_total: build.bytes });
      step(deployId, c, `uploading ${build.file_name} (${build.bytes} bytes)`);
      await upload(deployId, c, build.sha256, ctl);
      // 3. Start and 4. verify: the swarm must accept the new version's signed reports.
      setTarget(deployId, c.id, { phase: 'start', message: `starting ${appName} ${build.version}` });
      step(deployId, c, `installed ${appName} ${build.version}; starting it`);
      setTarget(deployId, c.id, { phase: 'verify', message: `waiting for the swarm to accept signed reports from ${build.version} (key ${enrolledKey(c) ?? 'to be enrolled'}, fresh epoch)` });
      runningDeploy.set(c.id, deployId);
      await verify(c, appName, build.version, opts.verifyTimeoutMs, { start: true, beforeEpoch });
      recordInstalled(c, appName, build.version, build.sha256);
      const note = await agentNote(c, appName);
      // The model travels inside the package, so a verified install means the camera has it.
      const modelV = build.model_version;
      const what = `${build.version}${modelV !== null ? ` with model v${modelV}` : ''}`;
      const acc = deps.acceptanceOf(c.serial);
      const proof = `the swarm accepts its reports: key ${acc?.key ?? '?'}, epoch ${acc?.epoch ?? '?'}`;
      setTarget(deployId, c.id, { phase: 'done', outcome: 'verified', final_version: build.version, model_version: modelV, message: `running ${what} (verified: ${proof})${note}` });
      step(deployId, c, `running ${what} (verified: ${proof})${note}`, { version: build.version, modelVersion: modelV });
    } catch (e) {
      const reason = errText(e);
      if (e instanceof Refused) {
        setTarget(deployId, c.id, { phase: 'done', outcome: 'skipped', final_version: targetRow(deployId, c.id).previous_version, message: reason });
        step(deployId, c, reason);
        return;
      }
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
      let start = true;
      const beforeEpoch = deps.acceptanceOf(c.serial)?.epoch;
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
      // Verified the same way as a deploy: the swarm accepts the previous version's reports again.
      await verify(c, appName, prevV, opts.verifyTimeoutMs, { start, beforeEpoch });
      recordInstalled(c, appName, prevV, row.previous_sha);
      setTarget(deployId, c.id, { phase: 'done', outcome: 'rolled_back', final_version: prevV, message: `rolled back to ${prevV} (verified: the swarm accepts its reports again): ${reason}` });
      step(deployId, c, `rolled back to ${prevV} (verified); reason: ${reason}`, { version: prevV });
    } catch (e) {
      const why = errText(e);
      setTarget(deployId, c.id, { phase: 'done', outcome: 'failed', final_version: null, message: `${reason}; the rollback failed too: ${why}` });
      audit.record({ kind: 'deploy.failed', severity: 'critical', source: c.id, message: `${c.name}: deploy of ${build.version} failed (${reason}) and the rollback failed (${why}). Check the camera.`, detail: { deployId, reason, rollback: why } });
    }
  };

  // ---- a deploy ----
  /**
   * A staged rollout: the canary stage first, every camera of it verified, then the rest. The first
   * camera that does not end verified stops the rollout: cameras not started yet are skipped.
   */
  const run = (deployId: string, build: BuildRow, cameras: Camera[], opts: Options): void => {
    const ctl = { cancelled: false, uploads: new Set<string>(), done: Promise.resolve() };
    const sizes = stageSizes(cameras.length, opts.canary ?? 0);
    const stages = sizes.map((n, i) => cameras.slice(i === 0 ? 0 : sizes[0], i === 0 ? n : undefined));
    let stopped: string | null = null;
    const skip = (c: Camera): void => {
      const r = targetRow(deployId, c.id);
      setTarget(deployId, c.id, { phase: 'done', outcome: 'skipped', final_version: r.previous_version, message: `not tried: the rollout stopped at the first failure (${stopped})` });
    };
    const runStage = async (list: Camera[]): Promise<void> => {
      const queue = [...list];
      const worker = async (): Promise<void> => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          if (stopped && !ctl.cancelled) {
            skip(c);
            continue;
          }
          try {
            await runTarget(deployId, c, build, opts, ctl);
          } catch (e) {
            log.error({ err: errText(e), camera: c.id }, 'deploy step failed unexpectedly');
            setTarget(deployId, c.id, { phase: 'done', outcome: 'failed', message: `internal error: ${errText(e)}` });
          }
          const t = targetRow(deployId, c.id);
          if (!stopped && t.outcome !== 'verified' && t.outcome !== 'cancelled') {
            stopped = `${c.name}: ${t.message}`;
            q.stopDeploy(stopped, deployId);
            audit.record({ kind: 'deploy.stopped', severity: 'warning', source: 'deploy', message: `Deploy of ${build.version} stopped at its first failure (${stopped}); cameras not started yet are skipped`, detail: { deployId, camera: c.id } });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(opts.concurrency, list.length) }, worker));
    };
    ctl.done = (async () => {
      for (const [i, stage] of stages.entries()) {
        if (stopped && !ctl.cancelled) {
          for (const c of stage) skip(c);
          continue;
        }
        if (stages.length > 1) step(deployId, stage[0]!, `${i === 0 ? 'canary' : 'second'} stage: ${stage.length} camera(s)`);
        await runStage(stage);
      }
    })().then(() => {
      if (closed) return;
      const status = ctl.cancelled ? 'cancelled' : 'done';
      q.finishDeploy(status, now(), deployId);
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
    cameraIds: CameraId[],
    opts: Options,
    ctx: CallContext | { who: string; approval: DeployApproval },
    retryOf: string | null,
    previous?: Map<CameraId, TargetRow>,
  ): string => {
    const build = getBuild(buildSha);
    if (!build) throw notFound(`Build ${buildSha.slice(0, 12)}`);
    const problems = parseJson(problemsSchema, build.problems);
    if (problems.length) throw new AppError('invalid_input', `${build.file_name} cannot be deployed: ${problems.join('; ')}. Fix the manifest and rebuild.`);
    if (!fs.existsSync(buildPath(buildSha))) throw new AppError('not_found', `The package file for ${build.file_name} is missing from ${buildsDir}. Add the build again.`);
    const cams = [...new Set(cameraIds)].map(camera);
    const id = randomUUID();
    const approval = 'approval' in ctx ? ctx.approval : null;
    const user = 'who' in ctx ? ctx.who : `${os.userInfo().username} via ${ctx.transport}`;
    db.transaction(() => {
      q.insertDeploy(
        id, now(), user, buildSha, 'running', JSON.stringify(opts), retryOf, approval ? JSON.stringify(approval) : null, build.model_version,
      );
      const [first = 0] = stageSizes(cams.length, opts.canary ?? 0);
      // A resumed camera keeps what it ran before the interrupted deploy, so the rollback still knows it.
      for (const [i, c] of cams.entries())
        q.insertTarget(id, c.id, c.name, 'queued', 'pending', build.bytes, 'queued', previous?.get(c.id)?.previous_version ?? null, previous?.get(c.id)?.previous_sha ?? null, i < first ? 0 : 1, now());
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
  const interrupted = q.runningIds.all();
  for (const { id } of interrupted) {
    q.interruptTargets(now(), id);
    q.interruptDeploy(now(), id);
    audit.record({ kind: 'deploy.failed', severity: 'warning', source: 'deploy', message: `A deploy was interrupted by an app restart; open Deploy → History to resume it`, detail: { deployId: id } });
  }

  const handlers: Handlers = {
    'deploy.builds': async () => {
      await importNative();
      const builds = q.builds.all().map(toBuild);
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
      const out: { cameraId: CameraId; version: string | null; status: string | null; error: string | null }[] = [];
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
    'deploy.preflight': async ({ buildSha, cameraIds, allowUnsigned, allowDowngrade }) => {
      const build = getBuild(buildSha);
      if (!build) throw notFound(`Build ${buildSha.slice(0, 12)}`);
      const cams = [...new Set(cameraIds)].map(camera);
      const rows = new Array<PreflightRow>(cams.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(8, cams.length) }, async () => {
          while (next < cams.length) {
            const i = next++;
            rows[i] = await preflightOne(cams[i]!, build, allowUnsigned, allowDowngrade);
          }
        }),
      );
      return { rows };
    },
    'deploy.start': async ({ buildSha, cameraIds, allowUnsigned, allowDowngrade, canary, concurrency, verifyTimeoutMs, modelVersion }, ctx) => {
      const sha = modelVersion === undefined ? buildSha : (await withModel(buildSha, modelVersion)).sha256;
      return { deployId: create(sha, cameraIds, { allowUnsigned, allowDowngrade, canary, concurrency, verifyTimeoutMs }, ctx, null) };
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
      const d = q.deploy.get(deployId);
      if (!d) throw notFound(`Deploy ${deployId}`);
      if (d.status === 'running') throw new AppError('conflict', 'This deploy is still running. Wait for it to finish, or cancel it first.');
      const rows = q.unverifiedTargets.all(deployId).filter((r) => registry.get(r.camera_id));
      if (rows.length === 0) throw new AppError('conflict', 'Every camera of this deploy already runs the new version (verified). Nothing to retry.');
      const opts = parseJson(optionsSchema, d.options);
      const prev = new Map(rows.filter((r) => r.outcome === 'interrupted').map((r) => [r.camera_id, r]));
      return { deployId: create(d.build_sha, rows.map((r) => r.camera_id), opts, ctx, deployId, prev), cameras: rows.length };
    },
    'deploy.history': ({ limit }) => ({
      deploys: q.recentIds.all(limit).map((r) => deployOf(r.id)),
    }),
    'deploy.get': ({ deployId }) => deployOf(deployId),
  };

  /** The build with the model version added (made once, then kept by content hash). */
  const withModel = async (baseSha: string, version: number): Promise<BuildRow> => {
    const base = getBuild(baseSha);
    if (!base) throw notFound(`Build ${baseSha.slice(0, 12)}`);
    if (base.model_version !== null) throw new AppError('invalid_input', `${base.file_name} already carries model v${base.model_version}. Choose the plain build to ship another model.`);
    const made = q.buildWithModel.get(baseSha, version);
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
    q.setBuildModel(baseSha, version, b.sha256);
    audit.record({ kind: 'deploy.step', severity: 'info', source: 'deploy', message: `Model v${version} added to ${base.file_name} as ${fileName}`, detail: { base: baseSha, build: b.sha256, modelVersion: version, modelSha256: built.model.sha256 } });
    return getBuild(b.sha256)!;
  };

  const resolveBuild = (ref: string): BuildRow => {
    const bySha = /^[0-9a-f]{64}$/.test(ref) ? getBuild(ref) : undefined;
    const rows = bySha ? [bySha] : q.buildsNamed.all(ref);
    if (rows.length === 0) throw new AppError('not_found', `No build "${ref}" is known to the app. Name one from the Deploy view's builds by its sha256 or file name.`);
    if (rows.length > 1) throw new AppError('conflict', `${rows.length} builds are named "${ref}". Name the one you mean by its sha256: ${rows.map((r) => r.sha256.slice(0, 12)).join(', ')}.`);
    const b = rows[0]!;
    const problems = parseJson(problemsSchema, b.problems);
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
    // A room's decision approves the build and the cameras; it does not switch AllowUnsigned on or
    // allow a downgrade (those stay the user's explicit choices in the Deploy view). One canary first.
    startApproved: ({ buildSha, cameraIds, who, approval }) =>
      create(buildSha, cameraIds, { allowUnsigned: false, allowDowngrade: false, canary: 1, concurrency: 8, verifyTimeoutMs: 60_000 }, { who, approval }, null),
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
