import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from '../camsim';
import { AppClient, uploadApp } from './apps';

// Same length for every version, so a rewritten package keeps its size: only the bytes differ.
async function eap(version: string, padding: number): Promise<Buffer> {
  const pack = tar.pack();
  const manifest = JSON.stringify({ schemaVersion: '1.7.0', acapPackageConf: { setup: { appName: 'cachetest', vendor: 'Acme', version, runMode: 'never', architecture: 'aarch64' } } });
  pack.entry({ name: 'manifest.json', mtime: new Date(0), uid: 0, gid: 0 }, manifest);
  pack.entry({ name: 'cachetest', mtime: new Date(0), uid: 0, gid: 0, mode: 0o755 }, Buffer.alloc(padding, version));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks), { level: 0 });
}

describe('uploadApp', () => {
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-apps-'));
    fleet = await startSimulatedFleet({ cameras: 1, seed: 5, apps: 'agent' });
    cam = fleet.cameras[0]!;
  });
  afterAll(async () => {
    await fleet.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends the current bytes of a package file, also when it was rewritten with the same size', async () => {
    const u = new URL(cam.url);
    const t = { host: u.hostname, port: Number(u.port), username: cam.username, password: cam.password };
    const client = new AppClient(t);
    await client.allowUnsigned(true);
    const file = path.join(dir, 'pkg.eap');
    const v1 = await eap('1.0.1', 300_000);
    const v2 = await eap('1.0.2', 300_000);
    expect(v2.length).toBe(v1.length);
    const old = new Date(Date.now() - 60_000);
    const version = async (): Promise<string | undefined> => (await client.list()).find((a) => a.name === 'cachetest')?.version;

    // A settled file (old mtime) is read once and kept for the next cameras.
    fs.writeFileSync(file, v1);
    fs.utimesSync(file, old, old);
    for (let i = 0; i < 2; i++) {
      const r = await uploadApp(t, file);
      expect(r).toMatchObject({ ok: true, sent: r.total });
      expect(await version()).toBe('1.0.1');
    }
    // Rewritten in place with the same size: the kept copy no longer matches, the camera gets the new bytes.
    fs.writeFileSync(file, v2);
    fs.utimesSync(file, old, new Date(Date.now() - 30_000));
    expect((await uploadApp(t, file)).ok).toBe(true);
    expect(await version()).toBe('1.0.2');
    // Written just now: read from disk, whatever is kept.
    fs.writeFileSync(file, v1);
    expect((await uploadApp(t, file)).ok).toBe(true);
    expect(await version()).toBe('1.0.1');
  });
});
