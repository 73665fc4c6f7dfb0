// Deploy fault tests over the wire: the real fleet service, MQTT ingest (embedded broker), the
// helper core behind its message boundary, the simulated cameras running the real aarch64
// program under qemu where available. Every scenario ends with each camera running a verified
// version (new or previous) and a report saying which and why.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deploy, DeployTarget, PreflightRow } from '../../preload/contract/deploy';
import { createAuditLog } from '../audit';
import { startSimulatedFleet, type SimFleet } from '../camsim';
import { curl } from '../camsim/testkit';
import { createEventBus } from '../kernel/bus';
import { createDispatcher } from '../kernel/dispatcher';
import { silentLogger } from '../kernel/logger';
import { buildEap, buildNativeApp } from '../packaging';
import { openDatabase } from '../store';
import { createDeployService, type DeployService } from './deploy';
import type { FleetService } from './index';
import { createFleetHarness } from './testing';

const log = silentLogger();
const nativeDir = path.resolve(__dirname, '../../native');
const canBuild = fs.existsSync('/usr/bin/aarch64-linux-gnu-gcc') && fs.existsSync(path.join(nativeDir, 'Makefile'));

describe.skipIf(!canBuild)('deploy against the simulated fleet', () => {
  let sim: SimFleet;
  let dir: string;
  let db: ReturnType<typeof openDatabase>['db'];
  let fleet: FleetService;
  let deploy: DeployService;
  let call: (method: string, input: unknown) => Promise<unknown>;
  let closeAll: () => Promise<void>;
  const progress: { deployId: string; target: DeployTarget }[] = [];
  const progressHooks: ((p: { deployId: string; target: DeployTarget }) => void)[] = [];
  const builds: Record<string, string> = {};
  const ids: string[] = [];
  const native = () => sim.appMode === 'native';

  const ok = async <T,>(method: string, input: unknown): Promise<T> => {
    const r = (await call(method, input)) as { ok: boolean; value?: T; error?: { message: string } };
    if (!r.ok) throw new Error(`${method}: ${r.error?.message}`);
    return r.value as T;
  };
  const finish = async (deployId: string): Promise<Deploy> => {
    await deploy.idle();
    return ok<Deploy>('deploy.get', { deployId });
  };
  const listed = async (i: number): Promise<string> => {
    const c = sim.cameras[i]!;
    return (await curl(`${c.url}/axis-cgi/applications/list.cgi`, { user: c.username, pass: c.password, method: 'POST' })).body.toString();
  };
  /** Each camera's list.cgi agrees with the report: Running the final version. */
  const expectTruth = async (d: Deploy): Promise<void> => {
    // The report a person reads: which version each camera ends on, and why.
    console.log(`deploy ${d.version} (${sim.appMode}):\n${d.targets.map((t) => `  ${t.cameraName}: ${t.message}`).join('\n')}`);
    for (const t of d.targets) {
      expect(t.outcome, `${t.cameraName}: ${t.message}`).toMatch(/^(verified|rolled_back)$/);
      expect(t.finalVersion).not.toBeNull();
      const i = ids.indexOf(t.cameraId);
      expect(await listed(i)).toMatch(new RegExp(`Name="omnisight"[^>]*Version="${t.finalVersion!.replace(/\./g, '\\.')}"[^>]*Status="Running"`));
    }
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-deploy-'));
    sim = await startSimulatedFleet({ cameras: 4, seed: 11 });
    if (!native()) console.warn(`deploy tests: ${sim.appNote}; the crash-at-start case is skipped`);
    const h = await createFleetHarness(dir, log);
    ({ db, fleet } = h);
    const { bus, audit, helper } = h;
    bus.subscribe('deploy.progress', (p) => {
      progress.push(p);
      for (const h of progressHooks) h(p);
    });
    deploy = createDeployService({
      db, bus, log, audit, now: Date.now, dataDir: dir, helper, registry: fleet.registry,
      ...h.deployDeps,
      onHelperProgress: (l) => h.onHelperProgress(l),
      nativeDir,
      reconnectTimeoutMs: 15_000,
      pollMs: 200,
    });
    const dispatcher = createDispatcher({ log });
    dispatcher.register(fleet.handlers);
    dispatcher.register(deploy.handlers);
    call = (m, i) => dispatcher.dispatch(m, i, { transport: 'internal', peer: 'test' });
    closeAll = async () => {
      await deploy.close();
      await h.close();
    };
    for (const c of sim.cameras) {
      const cam = await ok<{ id: string }>('fleet.add', { address: new URL(c.url).host, username: c.username, password: c.password });
      ids.push(cam.id);
    }
    // Three real builds from native/ (each version compiled in), plus a foreign-architecture package.
    const out = path.join(dir, 'dist');
    for (const [key, o] of [['v100', { version: '1.0.0' }], ['v110', { version: '1.1.0' }], ['crash', { version: '1.1.1', crashAtStart: true }]] as const) {
      const r = await buildNativeApp({ nativeDir, outDir: path.join(out, key), ...o });
      builds[key] = (await ok<{ sha256: string }>('deploy.addBuild', { path: r.path })).sha256;
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(nativeDir, 'manifest.json'), 'utf8')) as { acapPackageConf: { setup: Record<string, unknown> } };
    manifest.acapPackageConf.setup.architecture = 'armv7hf';
    manifest.acapPackageConf.setup.version = '1.1.0';
    const arm = await buildEap({ manifest, executable: Buffer.from('not really armv7'), license: 'test', defaultArch: 'armv7hf' });
    fs.writeFileSync(path.join(dir, arm.fileName), arm.data);
    builds.arm = (await ok<{ sha256: string }>('deploy.addBuild', { path: path.join(dir, arm.fileName) })).sha256;
    // Wait until every camera's MQTT client is connected (configured by fleet.add).
    const end = Date.now() + 10_000;
    while (ids.some((id) => fleet.status(id)?.lastHeartbeat === null) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  }, 120_000);

  afterAll(async () => {
    await closeAll?.();
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows a preflight before anything is sent, then deploys 1.0.0 everywhere, verified', async () => {
    const { rows } = await ok<{ rows: PreflightRow[] }>('deploy.preflight', { buildSha: builds.v100, cameraIds: ids, allowUnsigned: true });
    expect(rows.map((r) => r.ok)).toEqual([true, true, true, true]);
    expect(rows.every((r) => r.role === 'administrator' && r.archOk && r.socOk && r.installedVersion === '1.2.0')).toBe(true);
    // AXIS OS 12 cameras refuse unsigned apps until the deploy switches it on.
    expect(rows.filter((r) => r.allowUnsigned === false).every((r) => r.notes.some((n) => /AllowUnsigned/.test(n)))).toBe(true);
    const strict = await ok<{ rows: PreflightRow[] }>('deploy.preflight', { buildSha: builds.v100, cameraIds: ids, allowUnsigned: false });
    expect(strict.rows.some((r) => !r.ok && r.blockers.some((b) => /signed apps/.test(b)))).toBe(true);
    const arm = await ok<{ rows: PreflightRow[] }>('deploy.preflight', { buildSha: builds.arm, cameraIds: ids.slice(0, 1) });
    expect(arm.rows[0]).toMatchObject({ ok: false, archOk: false });

    const { deployId } = await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v100, cameraIds: ids, verifyTimeoutMs: 15_000 });
    const d = await finish(deployId);
    for (const t of d.targets) expect(t, t.message).toMatchObject({ outcome: 'verified', finalVersion: '1.0.0', previousVersion: '1.2.0', message: expect.stringMatching(/^running 1\.0\.0 \(verified\)/) });
    await expectTruth(d);
    // Byte progress was reported up to the package size.
    const up = progress.filter((p) => p.deployId === deployId && p.target.phase === 'upload' && p.target.bytesSent > 0);
    expect(up.length).toBeGreaterThan(0);
    expect(Math.max(...up.map((p) => p.target.bytesSent))).toBeGreaterThanOrEqual(fs.statSync(path.join(dir, 'builds', `${builds.v100}.eap`)).size);
    // The new signing key was recorded for the swarm.
    expect(fleet.registry.keyOf(ids[0]!)?.publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  }, 90_000);

  it('survives a mid-upload drop, a refused package, a missing heartbeat and a camera restart in one deploy', async () => {
    const [dropCam, , silentCam, restartCam] = sim.cameras.map((c) => c.id);
    const f = (id: string) => sim.faults(id);
    f(dropCam!).crashDuringUpload(20_000);
    setTimeout(() => void f(dropCam!).restart(), 1500);
    // This camera refuses unsigned apps and the deploy is not allowed to change that.
    const rc = sim.cameras[1]!;
    await curl(`${rc.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=false`, { user: rc.username, pass: rc.password });
    f(silentCam!).dropMqtt(true);
    let restarted = false;
    progressHooks.push((p) => {
      if (p.target.cameraId === ids[2] && p.target.phase === 'rollback') f(silentCam!).dropMqtt(false);
      if (p.target.cameraId === ids[3] && p.target.phase === 'verify' && !restarted) {
        restarted = true;
        void f(restartCam!).crash().then(() => new Promise((r) => setTimeout(r, 800))).then(() => f(restartCam!).restart());
      }
    });
    const { deployId } = await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v110, cameraIds: ids, allowUnsigned: false, verifyTimeoutMs: 8000 });
    const d = await finish(deployId);
    progressHooks.length = 0;
    const by = (i: number) => d.targets.find((t) => t.cameraId === ids[i])!;
    expect(by(0)).toMatchObject({ outcome: 'rolled_back', finalVersion: '1.0.0', message: expect.stringMatching(/rolled back to 1\.0\.0 \(verified\): upload failed/) });
    expect(by(1)).toMatchObject({ outcome: 'rolled_back', finalVersion: '1.0.0', message: expect.stringMatching(/signed apps/) });
    expect(by(2)).toMatchObject({ outcome: 'rolled_back', finalVersion: '1.0.0', message: expect.stringMatching(/no heartbeat reporting version 1\.1\.0/) });
    // A camera that restarts during verification ends on a verified version, whichever it is.
    expect(by(3).finalVersion).toMatch(/^1\.(0|1)\.0$/);
    await expectTruth(d);
    const audit = db.prepare("SELECT kind, severity FROM audit_events WHERE kind LIKE 'deploy.%'").all() as { kind: string; severity: string }[];
    expect(audit.some((a) => a.kind === 'deploy.rollback' && a.severity === 'warning')).toBe(true);
    expect(audit.filter((a) => a.kind === 'deploy.step').length).toBeGreaterThan(10);
  }, 120_000);

  it('rolls back a build that crashes at start, with the reason from its log', async () => {
    if (!native()) return console.warn('skipped: no aarch64 emulator, so the built-in agent cannot crash like the program');
    const { deployId } = await ok<{ deployId: string }>('deploy.start', { buildSha: builds.crash, cameraIds: ids.slice(0, 2), verifyTimeoutMs: 8000 });
    const d = await finish(deployId);
    for (const t of d.targets) expect(t, t.message).toMatchObject({ outcome: 'rolled_back', message: expect.stringMatching(/stopped right after start.*deliberately broken/) });
    await expectTruth(d);
  }, 90_000);

  it('sends nothing a camera rejects for architecture, and cancels cleanly', async () => {
    const a = await finish((await ok<{ deployId: string }>('deploy.start', { buildSha: builds.arm, cameraIds: ids.slice(0, 1), verifyTimeoutMs: 8000 })).deployId);
    expect(a.targets[0]).toMatchObject({ outcome: 'rolled_back', message: expect.stringMatching(/Error 5 \(not compatible/) });
    await expectTruth(a);
    const { deployId } = await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v110, cameraIds: ids, concurrency: 1, verifyTimeoutMs: 8000 });
    expect(await ok('deploy.cancel', { deployId })).toEqual({ cancelled: true });
    const d = await finish(deployId);
    expect(d.status).toBe('cancelled');
    expect(d.targets.filter((t) => t.outcome === 'cancelled').length).toBeGreaterThanOrEqual(3);
    for (const t of d.targets.filter((x) => x.outcome !== 'cancelled')) expect(t.outcome).toMatch(/verified|rolled_back/);
    const history = await ok<{ deploys: Deploy[] }>('deploy.history', { limit: 10 });
    expect(history.deploys[0]!.id).toBe(deployId);
    expect(history.deploys.length).toBeGreaterThanOrEqual(5);
  }, 90_000);

  it('reports a deploy cut short by an app restart as interrupted and resumes it', async () => {
    // Simulate the crash: a running deploy row left behind, then a fresh service on the same database.
    const bus = createEventBus();
    const now = Date.now();
    db.prepare("INSERT INTO deploys (id, created_at, user, build_sha, status, options) VALUES ('cut', ?, 'test', ?, 'running', ?)").run(now, builds.v110, JSON.stringify({ allowUnsigned: true, concurrency: 4, verifyTimeoutMs: 15000 }));
    db.prepare("INSERT INTO deploy_targets (deploy_id, camera_id, camera_name, phase, outcome, message, previous_version, previous_sha, updated_at) VALUES ('cut', ?, 'x', 'upload', 'pending', '', '1.0.0', ?, ?)").run(ids[1], builds.v100, now);
    const again = createDeployService({ db, bus, log, audit: createAuditLog({ db, bus, now: Date.now }), now: Date.now, dataDir: dir, helper: { call: () => Promise.reject(new Error('unused')) }, registry: fleet.registry, enrolment: fleet.enrolment, acceptanceOf: () => undefined, onHelperProgress: () => () => undefined });
    const d = (await again.handlers['deploy.get']!({ deployId: 'cut' }, { transport: 'internal', peer: 't' })) as Deploy;
    expect(d.status).toBe('interrupted');
    expect(d.targets[0]).toMatchObject({ outcome: 'interrupted', message: expect.stringMatching(/stopped during upload/) });
    await again.close();
    const { deployId } = await ok<{ deployId: string }>('deploy.retry', { deployId: 'cut' });
    const r = await finish(deployId);
    expect(r.retryOf).toBe('cut');
    expect(r.targets[0]).toMatchObject({ outcome: 'verified', finalVersion: '1.1.0', previousVersion: '1.0.0' });
  }, 60_000);
});
