// Shipping a federated model version with a deploy, over the wire: the real deploy and federated
// services, MQTT ingest, the helper core, and two simulated cameras with the built-in agent (so no
// cross toolchain is needed). The package gains model/head-v<N>.{bin,json}, the cameras report the
// unpacked files (the simulator's Files attribute in list.cgi), and the history names the model.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deploy, DeployBuild } from '../../preload/contract/deploy';
import type { FederatedModel } from '../../preload/contract/federated';
import type { CameraId } from '../../preload/contract/camera-id';
import { startSimulatedFleet, type SimFleet } from '../camsim';
import { curl } from '../camsim/testkit';
import { createDispatcher } from '../kernel/dispatcher';
import { silentLogger } from '../kernel/logger';
import { createFederatedService, type FederatedService } from '../federated';
import { createTestClient, type TestClient } from '../federated/testkit';
import { buildEap, readEap } from '../packaging';
import { openDatabase } from '../store';
import { createDeployService, type DeployService } from './deploy';
import type { FleetService } from './index';
import { createFleetHarness } from './testing';
import { addModelToEap } from './model-package';

const log = silentLogger();
const nativeDir = path.resolve(__dirname, '../../native');

/** Every regular file of an .eap, read with tar-stream (independent of both readers under test). */
async function files(eap: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, s, next) => {
      const c: Buffer[] = [];
      s.on('data', (d: unknown) => void c.push(d as Buffer));
      s.on('end', () => {
        if (h.type === 'file') out.set(h.name, Buffer.concat(c));
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([gunzipSync(eap)]).pipe(ex);
  await done;
  return out;
}

describe('deploy with a federated model version', () => {
  let sim: SimFleet;
  let dir: string;
  let db: ReturnType<typeof openDatabase>['db'];
  let fleet: FleetService;
  let deploy: DeployService;
  let federated: FederatedService;
  let call: (method: string, input: unknown) => Promise<unknown>;
  let closeAll: () => Promise<void>;
  let baseSha = '';
  const ids: CameraId[] = [];

  const ok = async <T,>(method: string, input: unknown): Promise<T> => {
    const r = (await call(method, input)) as { ok: boolean; value?: T; error?: { message: string } };
    if (!r.ok) throw new Error(`${method}: ${r.error?.message}`);
    return r.value as T;
  };
  const listed = async (i: number): Promise<string> => {
    const c = sim.cameras[i]!;
    return (await curl(`${c.url}/axis-cgi/applications/list.cgi`, { user: c.username, pass: c.password, method: 'POST' })).body.toString();
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-deploy-model-'));
    sim = await startSimulatedFleet({ cameras: 2, seed: 23, apps: 'agent' });
    const h = await createFleetHarness(dir, log);
    ({ db, fleet } = h);
    const { bus, audit, helper } = h;
    // Real fl1 rounds with six in-process test clients produce the model versions (the desktop only aggregates).
    const serials = Array.from({ length: 6 }, (_, i) => `ACCC8E0000${i + 10}`);
    const clients: TestClient[] = [];
    federated = createFederatedService({
      db, bus, log, now: Date.now, seed: 'deploy-model',
      cameras: () => serials,
      deadlines: { advertise: 2_000, shares: 2_000, masked: 2_000, unmask: 2_000 },
      publish: (topic, payload) => {
        setImmediate(() => clients.forEach((c) => c.onMessage(topic, payload)));
        return true;
      },
    });
    serials.forEach((serial, i) =>
      clients.push(createTestClient({ serial, train: (g) => g.map((v, k) => v + ((i + 1) * (k - 6)) / 500), send: (body) => setImmediate(() => federated.receive(serial, JSON.parse(body))) })),
    );
    deploy = createDeployService({
      db, bus, log, audit, now: Date.now, dataDir: dir, helper, registry: fleet.registry,
      ...h.deployDeps,
      onHelperProgress: (l) => h.onHelperProgress(l),
      models: (v) => federated.modelArtifact(v),
      reconnectTimeoutMs: 10_000,
      pollMs: 100,
    });
    const dispatcher = createDispatcher({ log });
    dispatcher.register(fleet.handlers);
    dispatcher.register(deploy.handlers);
    dispatcher.register(federated.handlers);
    call = (m, i) => dispatcher.dispatch(m, i, { transport: 'internal', peer: 'test' });
    closeAll = async () => {
      await deploy.close();
      await federated.close();
      await h.close();
    };
    for (const c of sim.cameras) ids.push((await ok<{ id: CameraId }>('fleet.add', { address: new URL(c.url).host, username: c.username, password: c.password, httpsPort: c.httpsPort })).id);
    // The built-in agent stands in for the program, so any executable bytes do.
    const manifest = JSON.parse(fs.readFileSync(path.join(nativeDir, 'manifest.json'), 'utf8')) as { acapPackageConf: { setup: Record<string, unknown> } };
    manifest.acapPackageConf.setup.version = '2.0.0';
    const eap = await buildEap({ manifest, executable: Buffer.from('#!/bin/sh\n'), license: 'test', extraFiles: [{ name: 'html/index.html', data: Buffer.from('<p>hi</p>') }] });
    fs.writeFileSync(path.join(dir, eap.fileName), eap.data);
    baseSha = (await ok<DeployBuild>('deploy.addBuild', { path: path.join(dir, eap.fileName) })).sha256;
    await ok('federated.start', { rounds: 2 });
    await federated.idle();
    const end = Date.now() + 10_000;
    while (ids.some((id) => fleet.status(id)?.lastHeartbeat === null) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  }, 60_000);

  afterAll(async () => {
    await closeAll?.();
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds the model reproducibly, as a valid package that keeps every original file', async () => {
    const m = federated.modelArtifact(1)!;
    const base = fs.readFileSync(path.join(dir, 'builds', `${baseSha}.eap`));
    const a = await addModelToEap(base, m);
    const b = await addModelToEap(base, m);
    expect(a.sha256).toBe(b.sha256);
    const info = await readEap(a.data);
    expect(info.problems).toEqual([]);
    const before = await files(base);
    const after = await files(a.data);
    // package.conf lists the extra files (OTHERFILES, as acap-build writes it): the model files join that list.
    const otherFiles = (b: Buffer | undefined): string => b?.toString().replace(/^OTHERFILES=.*$/m, '') ?? '';
    for (const [name, data] of before) {
      if (name === 'manifest.json') continue;
      if (name === 'package.conf') expect(otherFiles(after.get(name)), name).toBe(otherFiles(data));
      else expect(after.get(name), name).toEqual(data);
    }
    expect([...after.keys()].filter((n) => !before.has(n)).sort()).toEqual(['model/head-v1.bin', 'model/head-v1.json']);
    // A different model version gives a different package.
    expect((await addModelToEap(base, federated.modelArtifact(2)!)).sha256).not.toBe(a.sha256);
    await expect(addModelToEap(a.data, m)).rejects.toThrow(/already carries a model/);
  });

  it('ships model version N to two cameras: package entries, camera files and history agree', async () => {
    const { models } = await ok<{ models: FederatedModel[] }>('federated.models', {});
    expect(models.length).toBeGreaterThanOrEqual(2);
    const n = models[0]!.version;
    const withParams = await ok<FederatedModel & { parameters: string }>('federated.model', { version: n, withParameters: true });
    const params = Buffer.from(withParams.parameters, 'base64');

    const { deployId } = await ok<{ deployId: string }>('deploy.start', { buildSha: baseSha, cameraIds: ids, allowUnsigned: true, verifyTimeoutMs: 10_000, modelVersion: n });
    await deploy.idle();
    const d = await ok<Deploy>('deploy.get', { deployId });
    expect(d.modelVersion).toBe(n);
    expect(d.buildSha).not.toBe(baseSha);
    for (const t of d.targets) expect(t, t.message).toMatchObject({ outcome: 'verified', finalVersion: '2.0.0', modelVersion: n, message: expect.stringMatching(new RegExp(`^running 2\\.0\\.0 with model v${n} \\(verified: the swarm accepts its reports`)) });

    // The stored package holds both entries; the .json names the .bin's hash and the model's facts.
    const pkg = await files(fs.readFileSync(path.join(dir, 'builds', `${d.buildSha}.eap`)));
    const bin = pkg.get(`model/head-v${n}.bin`)!;
    expect(bin).toEqual(params);
    const meta = JSON.parse(pkg.get(`model/head-v${n}.json`)!.toString()) as Record<string, unknown>;
    // The fl1 head's file, as the camera apps read it (docs/protocol.md).
    expect(meta).toEqual({ name: 'omnisight.head.confirm.v1', version: n, features: 13, round: withParams.round, dropBelow: 0.05 });
    expect(bin.length).toBe(14 * 4);
    expect(createHash('sha256').update(bin).digest('hex')).toBe(withParams.hash);

    // Each camera's installer reports the unpacked model files.
    for (let i = 0; i < 2; i++) {
      const xml = await listed(i);
      expect(xml).toMatch(/Name="omnisight"[^>]*Version="2\.0\.0"[^>]*Status="Running"/);
      expect(xml).not.toMatch(/Files=/); // a real camera lists no files
      const filesAttr = sim.installedFiles(sim.cameras[i]!.id, 'omnisight') ?? [];
      expect(filesAttr).toEqual(expect.arrayContaining([`model/head-v${n}.bin`, `model/head-v${n}.json`, 'html/index.html', 'manifest.json']));
    }

    // The history says which model; the derived build is reused, not made again.
    const { deploys } = await ok<{ deploys: Deploy[] }>('deploy.history', { limit: 5 });
    expect(deploys[0]).toMatchObject({ id: deployId, modelVersion: n });
    const again = await ok<{ deployId: string }>('deploy.start', { buildSha: baseSha, cameraIds: ids.slice(0, 1), allowUnsigned: true, verifyTimeoutMs: 10_000, modelVersion: n });
    await deploy.idle();
    expect((await ok<Deploy>('deploy.get', { deployId: again.deployId })).buildSha).toBe(d.buildSha);

    // Without a model the deploy records none, and the camera's files no longer include it.
    const plain = await ok<{ deployId: string }>('deploy.start', { buildSha: baseSha, cameraIds: ids.slice(0, 1), allowUnsigned: true, verifyTimeoutMs: 10_000 });
    await deploy.idle();
    const p = await ok<Deploy>('deploy.get', { deployId: plain.deployId });
    expect(p.modelVersion).toBeNull();
    expect(p.targets[0]).toMatchObject({ outcome: 'verified', modelVersion: null });
    const i = ids.indexOf(p.targets[0]!.cameraId);
    expect(await listed(i)).toMatch(/Name="omnisight"[^>]*Status="Running"/);
    expect((sim.installedFiles(sim.cameras[i]!.id, 'omnisight') ?? []).filter((f) => f.startsWith('model/'))).toEqual([]);
    expect(sim.installedFiles(sim.cameras[i]!.id, 'omnisight')).toContain('manifest.json');
  }, 60_000);

  it('refuses an unknown model version with what to do', async () => {
    await expect(ok('deploy.start', { buildSha: baseSha, cameraIds: ids, modelVersion: 999 })).rejects.toThrow(/Model version 999 is not stored.*federated models/);
  });
});
