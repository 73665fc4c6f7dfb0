// Deploy over the wire: the real fleet service, MQTT ingest (embedded broker) into the real swarm
// coordinator, the helper core behind its message boundary, the simulated cameras running the real
// aarch64 program under qemu where available. "Verified" is what the product relies on: the swarm
// accepts the new version's signed reports. Every scenario ends with each camera running a verified
// version (new or previous), or says that it does not, with the check that failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraId } from '../../preload/contract/camera-id';
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
import { createFleetHarness, type FleetHarness } from './testing';

const log = silentLogger();
const nativeDir = path.resolve(__dirname, '../../native');
const canBuild = fs.existsSync('/usr/bin/aarch64-linux-gnu-gcc') && fs.existsSync(path.join(nativeDir, 'Makefile'));

describe.skipIf(!canBuild)('deploy against the simulated fleet', () => {
  let sim: SimFleet;
  let dir: string;
  let db: ReturnType<typeof openDatabase>['db'];
  let fleet: FleetService;
  let h: FleetHarness;
  let deploy: DeployService;
  let call: (method: string, input: unknown) => Promise<unknown>;
  let closeAll: () => Promise<void>;
  const progress: { deployId: string; target: DeployTarget }[] = [];
  const progressHooks: ((p: { deployId: string; target: DeployTarget }) => void)[] = [];
  const builds: Record<string, string> = {};
  const ids: CameraId[] = [];
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
      expect(t.outcome, `${t.cameraName}: ${t.message}`).toMatch(/^(verified|rolled_back|skipped)$/);
      if (t.outcome === 'skipped' && t.finalVersion === null) continue; // not tried
      expect(t.finalVersion).not.toBeNull();
      const i = ids.indexOf(t.cameraId);
      expect(await listed(i)).toMatch(new RegExp(`Name="omnisight"[^>]*Version="${t.finalVersion!.replace(/\./g, '\\.')}"[^>]*Status="Running"`));
      // ... and the swarm accepts what it reports, under the enrolled key.
      const serial = sim.cameras[i]!.serial;
      await until(() => h.swarm.acceptanceOf(serial).version === t.finalVersion, 5000);
      expect(h.swarm.acceptanceOf(serial).key).toBe(fleet.registry.keyOf(t.cameraId)!.keyId);
    }
  };
  const until = async (cond: () => boolean, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** Reports keep being accepted: the count grows and nothing is refused over a second and a half. */
  const keepsAccepting = async (i: number): Promise<void> => {
    const serial = sim.cameras[i]!.serial;
    const a = h.swarm.acceptanceOf(serial);
    await until(() => h.swarm.acceptanceOf(serial).accepted >= a.accepted + 2, 6000);
    expect(h.swarm.acceptanceOf(serial).refused).toBe(a.refused);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-deploy-'));
    sim = await startSimulatedFleet({ cameras: 4, seed: 11 });
    if (!native()) console.warn(`deploy tests: ${sim.appNote}; the crash-at-start case is skipped`);
    h = await createFleetHarness(dir, log);
    ({ db, fleet } = h);
    const { bus, audit, helper } = h;
    bus.subscribe('deploy.progress', (p) => {
      progress.push(p);
      for (const hook of progressHooks) hook(p);
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
      const cam = await ok<{ id: CameraId }>('fleet.add', { address: new URL(c.url).host, username: c.username, password: c.password, httpsPort: c.httpsPort });
      ids.push(cam.id);
    }
    // Real builds from native/ (each version compiled in), plus a foreign-architecture package.
    const out = path.join(dir, 'dist');
    for (const [key, o] of [['v130', { version: '1.3.0' }], ['v125', { version: '1.2.5' }], ['v140', { version: '1.4.0' }], ['crash', { version: '1.4.1', crashAtStart: true }]] as const) {
      const r = await buildNativeApp({ nativeDir, outDir: path.join(out, key), ...o });
      builds[key] = (await ok<{ sha256: string }>('deploy.addBuild', { path: r.path })).sha256;
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(nativeDir, 'manifest.json'), 'utf8')) as { acapPackageConf: { setup: Record<string, unknown> } };
    manifest.acapPackageConf.setup.architecture = 'armv7hf';
    manifest.acapPackageConf.setup.version = '1.5.0';
    const arm = await buildEap({ manifest, executable: Buffer.from('not really armv7'), license: 'test', defaultArch: 'armv7hf' });
    fs.writeFileSync(path.join(dir, arm.fileName), arm.data);
    builds.arm = (await ok<{ sha256: string }>('deploy.addBuild', { path: path.join(dir, arm.fileName) })).sha256;
    // Every camera's reports are accepted by the swarm before anything is deployed.
    await until(() => sim.cameras.every((c) => h.swarm.acceptanceOf(c.serial).accepted >= 2), 15_000);
  }, 180_000);

  afterAll(async () => {
    await closeAll?.();
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    // Stopping a dozen simulated cameras and the helper takes seconds, more on a loaded machine.
  }, 90_000);

  it('says in the preflight which cameras refuse unsigned packages and why, and switches nothing unless asked', async () => {
    const { rows } = await ok<{ rows: PreflightRow[] }>('deploy.preflight', { buildSha: builds.v130, cameraIds: ids });
    const refusing = rows.filter((r) => r.allowUnsigned === false);
    expect(refusing.length).toBeGreaterThan(0);
    // A package added from a file may be signed by Axis: the preflight says the camera refuses it unless it is.
    for (const r of refusing) {
      expect(r).toMatchObject({ refusesUnsigned: expect.stringMatching(/refuses unsigned apps: its AllowUnsigned setting is off/) });
      expect(r.notes.join()).toMatch(/Unless .* is signed by Axis the camera will refuse it \(Error 2\)/);
    }
    expect(rows.filter((r) => r.allowUnsigned !== false).every((r) => r.ok && r.refusesUnsigned === null)).toBe(true);
    const asked = await ok<{ rows: PreflightRow[] }>('deploy.preflight', { buildSha: builds.v130, cameraIds: ids, allowUnsigned: true });
    expect(asked.rows.every((r) => r.ok && r.role === 'administrator' && r.archOk && r.socOk && r.installedVersion === '1.2.0')).toBe(true);
    expect(asked.rows.filter((r) => r.allowUnsigned === false).every((r) => r.notes.some((n) => /switches AllowUnsigned on .*as you asked/.test(n)))).toBe(true);
    const arm = await ok<{ rows: PreflightRow[] }>('deploy.preflight', { buildSha: builds.arm, cameraIds: ids.slice(0, 1), allowUnsigned: true });
    expect(arm.rows[0]).toMatchObject({ ok: false, archOk: false });
    // The preflight changed nothing on the cameras.
    for (const c of sim.cameras) expect((await curl(`${c.url}/axis-cgi/applications/config.cgi?action=get&name=AllowUnsigned`, { user: c.username, pass: c.password })).body.toString()).toBeTruthy();
    expect(refusing.length).toBe((await ok<{ rows: PreflightRow[] }>('deploy.preflight', { buildSha: builds.v130, cameraIds: ids })).rows.filter((r) => r.allowUnsigned === false).length);
  }, 60_000);

  it('deploys 1.3.0 canary first and calls a camera verified only once the swarm accepts the new version under its enrolled key', async () => {
    const keys = ids.map((id) => fleet.registry.keyOf(id)!.keyId);
    const { deployId } = await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v130, cameraIds: ids, allowUnsigned: true, canary: 1, verifyTimeoutMs: 20_000 });
    const d = await finish(deployId);
    expect(d.stages).toEqual([1, 3]);
    expect(d.stopped).toBeNull();
    for (const t of d.targets)
      expect(t, t.message).toMatchObject({ outcome: 'verified', finalVersion: '1.3.0', previousVersion: '1.2.0', message: expect.stringMatching(/^running 1\.3\.0 \(verified: the swarm accepts its reports: key [0-9a-f]{16}, epoch \d+\)/) });
    await expectTruth(d);
    // The canary finished before the second stage started.
    const canary = d.targets.find((t) => t.stage === 0)!;
    const canaryDone = progress.find((p) => p.deployId === deployId && p.target.cameraId === canary.cameraId && p.target.phase === 'done')!.target.updatedAt;
    const restStarted = Math.min(...progress.filter((p) => p.deployId === deployId && p.target.stage === 1 && p.target.phase === 'upload').map((p) => p.target.updatedAt));
    expect(restStarted).toBeGreaterThanOrEqual(canaryDone);
    // The app kept its identity across the upgrade: same enrolled keys, and the swarm keeps accepting.
    expect(ids.map((id) => fleet.registry.keyOf(id)!.keyId)).toEqual(keys);
    for (let i = 0; i < ids.length; i++) await keepsAccepting(i);
    // Byte progress was reported up to the package size.
    const up = progress.filter((p) => p.deployId === deployId && p.target.phase === 'upload' && p.target.bytesSent > 0);
    expect(Math.max(...up.map((p) => p.target.bytesSent))).toBeGreaterThanOrEqual(fs.statSync(path.join(dir, 'builds', `${builds.v130}.eap`)).size);
    const switched = db.prepare("SELECT count(*) AS n FROM audit_events WHERE kind = 'deploy.allow_unsigned'").get() as { n: number };
    expect(switched.n).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a downgrade unless it is chosen for this deploy', async () => {
    const refused = await finish((await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v125, cameraIds: ids.slice(0, 2), allowUnsigned: true, canary: 0, concurrency: 1, verifyTimeoutMs: 15_000 })).deployId);
    expect(refused.targets[0]).toMatchObject({ outcome: 'skipped', finalVersion: '1.3.0', message: expect.stringMatching(/newer than 1\.2\.5, and a downgrade was not allowed/) });
    // The first failure stops the rollout: the second camera is not tried.
    expect(refused.targets[1]).toMatchObject({ outcome: 'skipped', message: expect.stringMatching(/rollout stopped at the first failure/) });
    expect(refused.stopped).toMatch(/downgrade/);
    const { rows } = await ok<{ rows: PreflightRow[] }>('deploy.preflight', { buildSha: builds.v125, cameraIds: ids.slice(0, 1), allowUnsigned: true });
    expect(rows[0]).toMatchObject({ ok: false, downgrade: true, blockers: [expect.stringMatching(/this is a downgrade/)] });
    const chosen = await finish((await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v125, cameraIds: ids.slice(0, 1), allowUnsigned: true, allowDowngrade: true, verifyTimeoutMs: 20_000 })).deployId);
    expect(chosen.targets[0]).toMatchObject({ outcome: 'verified', finalVersion: '1.2.5' });
    await expectTruth(chosen);
  }, 120_000);

  it('rolls back a canary that crashes at start, verified by the swarm, and stops the rollout there', async () => {
    if (!native()) return console.warn('skipped: no aarch64 emulator, so the built-in agent cannot crash like the program');
    const { deployId } = await ok<{ deployId: string }>('deploy.start', { buildSha: builds.crash, cameraIds: ids.slice(1), allowUnsigned: true, canary: 1, verifyTimeoutMs: 15_000 });
    const d = await finish(deployId);
    const [canary, ...rest] = d.targets;
    expect(canary).toMatchObject({ stage: 0, outcome: 'rolled_back', finalVersion: '1.3.0', message: expect.stringMatching(/rolled back to 1\.3\.0 \(verified: the swarm accepts its reports again\): the app stopped right after start.*deliberately broken/) });
    // Not tried: nothing was read from or sent to them (finalVersion null: nothing verified on them in this deploy).
    for (const t of rest) expect(t).toMatchObject({ stage: 1, outcome: 'skipped', finalVersion: null, message: expect.stringMatching(/not tried: the rollout stopped at the first failure/) });
    expect(d.stopped).toMatch(/stopped right after start/);
    await expectTruth(d);
    for (let i = 1; i < ids.length; i++) await keepsAccepting(i);
  }, 120_000);

  it('never calls verified a camera whose reports the swarm refuses: a key changed behind the desktop\'s back', async () => {
    const i = 3;
    const cam = sim.cameras[i]!;
    const enrolled = fleet.registry.keyOf(ids[i]!)!.keyId;
    // Someone rotated the app's key on the camera directly: the swarm refuses its reports from now on.
    const r = await curl(`https://127.0.0.1:${cam.httpsPort}/local/omnisight/admin/identity.cgi?action=rotate`, { user: cam.username, pass: cam.password, method: 'POST', extra: ['-k'] });
    expect(r.status).toBe(200);
    await until(() => (h.swarm.acceptanceOf(cam.serial).lastRefusal?.at ?? 0) > Date.now() - 3000, 8000);
    const d = await finish((await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v140, cameraIds: [ids[i]], allowUnsigned: true, verifyTimeoutMs: 8000 })).deployId);
    const t = d.targets[0]!;
    expect(t.outcome, t.message).not.toBe('verified');
    expect(t.message).toMatch(new RegExp(`not the enrolled key ${enrolled}`));
    expect(fleet.registry.keyOf(ids[i]!)!.keyId).toBe(enrolled); // never re-enrolled silently
    // The user rotates explicitly: the key is read over the pinned channel, enrolled, and accepted again.
    await ok('fleet.rotateKey', { id: ids[i] });
    const again = await finish((await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v140, cameraIds: [ids[i]], allowUnsigned: true, verifyTimeoutMs: 20_000 })).deployId);
    expect(again.targets[0], again.targets[0]!.message).toMatchObject({ outcome: 'verified', finalVersion: '1.4.0' });
    await keepsAccepting(i);
  }, 120_000);

  it('sends nothing a camera rejects for architecture, and cancels cleanly', async () => {
    const a = await finish((await ok<{ deployId: string }>('deploy.start', { buildSha: builds.arm, cameraIds: ids.slice(0, 1), allowUnsigned: true, verifyTimeoutMs: 8000 })).deployId);
    expect(a.targets[0]).toMatchObject({ outcome: 'rolled_back', message: expect.stringMatching(/Error 5 \(not compatible/) });
    await expectTruth(a);
    const { deployId } = await ok<{ deployId: string }>('deploy.start', { buildSha: builds.v140, cameraIds: ids.slice(0, 3), allowUnsigned: true, canary: 0, concurrency: 1, verifyTimeoutMs: 8000 });
    expect(await ok('deploy.cancel', { deployId })).toEqual({ cancelled: true });
    const d = await finish(deployId);
    expect(d.status).toBe('cancelled');
    expect(d.targets.filter((t) => t.outcome === 'cancelled').length).toBeGreaterThanOrEqual(2);
    for (const t of d.targets.filter((x) => x.outcome !== 'cancelled')) expect(t.outcome).toMatch(/verified|rolled_back/);
    const history = await ok<{ deploys: Deploy[] }>('deploy.history', { limit: 10 });
    expect(history.deploys[0]!.id).toBe(deployId);
  }, 90_000);

  it('reports a deploy cut short by an app restart as interrupted and resumes it', async () => {
    // Simulate the crash: a running deploy row left behind, then a fresh service on the same database.
    const bus = createEventBus();
    const now = Date.now();
    db.prepare("INSERT INTO deploys (id, created_at, user, build_sha, status, options) VALUES ('cut', ?, 'test', ?, 'running', ?)").run(now, builds.v140, JSON.stringify({ allowUnsigned: true, concurrency: 4, verifyTimeoutMs: 20000 }));
    db.prepare("INSERT INTO deploy_targets (deploy_id, camera_id, camera_name, phase, outcome, message, previous_version, previous_sha, updated_at) VALUES ('cut', ?, 'x', 'upload', 'pending', '', '1.3.0', ?, ?)").run(ids[2], builds.v130, now);
    const again = createDeployService({ db, bus, log, audit: createAuditLog({ db, bus, now: Date.now }), now: Date.now, dataDir: dir, helper: { call: () => Promise.reject(new Error('unused')) }, registry: fleet.registry, enrolment: fleet.enrolment, acceptanceOf: () => undefined, onHelperProgress: () => () => undefined });
    const d = (await again.handlers['deploy.get']!({ deployId: 'cut' }, { transport: 'internal', peer: 't' })) as Deploy;
    expect(d.status).toBe('interrupted');
    expect(d.targets[0]).toMatchObject({ outcome: 'interrupted', message: expect.stringMatching(/stopped during upload/) });
    await again.close();
    const { deployId } = await ok<{ deployId: string }>('deploy.retry', { deployId: 'cut' });
    const r = await finish(deployId);
    expect(r.retryOf).toBe('cut');
    expect(r.targets[0]).toMatchObject({ outcome: 'verified', finalVersion: '1.4.0', previousVersion: '1.3.0' });
    await expectTruth(r);
  }, 60_000);
});
