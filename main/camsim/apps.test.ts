import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl } from './testkit';

async function eap(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, text] of Object.entries(files)) pack.entry({ name, mtime: new Date(0), uid: 0, gid: 0 }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

const manifest = (appName: string, version = '1.0.0', extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ schemaVersion: '1.7.0', acapPackageConf: { setup: { appName, friendlyName: `${appName} app`, vendor: 'Acme', version, runMode: 'respawn', architecture: 'aarch64', ...extra } } });

describe('application API', () => {
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let dir: string;
  let auth: { user: string; pass: string };
  const file = (name: string, data: Buffer): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    return p;
  };
  const upload = async (p: string, field = 'file'): Promise<string> => (await curl(`${cam.url}/axis-cgi/applications/upload.cgi`, { ...auth, form: [`${field}=@${p}`] })).body.toString();
  const control = async (action: string, pkg: string): Promise<string> => (await curl(`${cam.url}/axis-cgi/applications/control.cgi?action=${action}&package=${pkg}`, auth)).body.toString();
  const list = async (): Promise<string> => (await curl(`${cam.url}/axis-cgi/applications/list.cgi`, { ...auth, method: 'POST' })).body.toString();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-apps-'));
    fleet = await startSimulatedFleet({ cameras: 2, seed: 3 });
    cam = fleet.cameras[1]!; // ARTPEC-9 on AXIS OS 12: unsigned refused by default
    auth = { user: cam.username, pass: cam.password };
  });
  afterAll(async () => {
    await fleet.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps serving when its app cannot write its local data: the app fails to start, nothing throws', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-apps-ro-'));
    const own = await startSimulatedFleet({ cameras: 1, seed: 5, dataDir });
    try {
      const c = own.cameras[0]!;
      const a = { user: c.username, pass: c.password };
      const ctl = (action: string) => curl(`${c.url}/axis-cgi/applications/control.cgi?action=${action}&package=omnisight`, a);
      expect((await ctl('stop')).status).toBe(200);
      const local = path.join(dataDir, c.serial, 'apps', 'omnisight', 'localdata');
      fs.rmSync(local, { recursive: true, force: true });
      fs.writeFileSync(local, 'not a directory');
      expect((await ctl('start')).status).toBe(200);
      const after = await curl(`${c.url}/axis-cgi/applications/list.cgi`, a);
      expect(after.status).toBe(200);
    } finally {
      await own.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('lists the built-in agent as running', async () => {
    const r = await curl(`${cam.url}/axis-cgi/applications/list.cgi`, auth);
    expect(r.headers['content-type']).toMatch(/^text\/xml/);
    expect(r.body.toString()).toMatch(/^<reply result="ok">\n <application Name="omnisight" NiceName="OmniSight" Vendor="OmniSight" Version="1\.2\.0" ApplicationID="[^"]*" License="None" Status="Running"/);
  });

  it('handles AllowUnsigned and refuses unsigned uploads until it is set', async () => {
    const get = await curl(`${cam.url}/axis-cgi/applications/config.cgi?action=get&name=AllowUnsigned`, auth);
    expect(get.body.toString()).toContain('<param name="AllowUnsigned" value="false"/>');
    const pkg = file('hello.eap', await eap({ 'manifest.json': manifest('hello'), hello: '#!/bin/sh\n' }));
    expect(await upload(pkg)).toBe('Error: 2\n');
    const set = await curl(`${cam.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true`, auth);
    expect(set.body.toString()).toMatch(/^<reply result="ok">/);
    const bad = await curl(`${cam.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=maybe`, auth);
    expect(bad.body.toString()).toMatch(/^<reply result="error">\n <error type="\d+" message="[^"]+"\/>/);
    expect(await upload(pkg)).toBe('OK\n');
    expect(await list()).toMatch(/<application Name="hello" NiceName="hello app" Vendor="Acme" Version="1\.0\.0"[^>]*Status="Stopped"/);
  });

  it('starts, stops, restarts and removes with Axis error codes', async () => {
    expect(await control('start', 'hello')).toBe('OK\n');
    expect(await control('start', 'hello')).toBe('Error: 6\n');
    expect(await list()).toMatch(/Name="hello"[^>]*Status="Running"/);
    expect(await control('stop', 'hello')).toBe('OK\n');
    expect(await control('stop', 'hello')).toBe('Error: 7\n');
    expect(await control('restart', 'hello')).toBe('OK\n');
    expect(await control('remove', 'hello')).toBe('OK\n');
    expect(await control('remove', 'hello')).toBe('Error: 4\n');
    expect(await control('start', '1bad')).toBe('Error: 1\n');
    expect(await control('explode', 'omnisight')).toBe('Error: 10\n');
    expect(await list()).not.toContain('Name="hello"');
  });

  it('accepts the packfil field and rejects broken packages with their codes', async () => {
    expect(await upload(file('other.eap', await eap({ 'manifest.json': manifest('other') })), 'packfil')).toBe('OK\n');
    expect(await upload(file('case.eap', await eap({ 'manifest.json': manifest('Other') })))).toBe('Error: 14\n');
    expect(await upload(file('text.eap', Buffer.from('definitely not a package')))).toBe('Error: 1\n');
    expect(await upload(file('nomanifest.eap', await eap({ README: 'x' })))).toBe('Error: 29\n');
    expect(await upload(file('badjson.eap', await eap({ 'manifest.json': '{"acapPackageConf":' })))).toBe('Error: 29\n');
    expect(await upload(file('armv7.eap', await eap({ 'manifest.json': manifest('oldarch', '1.0.0', { architecture: 'armv7hf' }) })))).toBe('Error: 5\n');
    // Every manifest schema requires schemaVersion and setup.runMode; an app may not ask for root.
    const without = (key: 'schemaVersion' | 'runMode'): string => {
      const m = JSON.parse(manifest('partial')) as { schemaVersion?: string; acapPackageConf: { setup: Record<string, unknown> } };
      if (key === 'schemaVersion') delete m.schemaVersion;
      else delete m.acapPackageConf.setup.runMode;
      return JSON.stringify(m);
    };
    expect(await upload(file('nosv.eap', await eap({ 'manifest.json': without('schemaVersion') })))).toBe('Error: 29\n');
    expect(await upload(file('norm.eap', await eap({ 'manifest.json': without('runMode') })))).toBe('Error: 29\n');
    expect(await upload(file('root.eap', await eap({ 'manifest.json': manifest('rooted', '1.0.0', { user: { username: 'root', group: 'root' } }) })))).toBe('Error: 13\n');
    expect(await upload(file('rootconf.eap', await eap({ 'package.conf': 'APPNAME="rooted"\nVENDOR="Acme"\nAPPMAJORVERSION="1"\nAPPUSR="root"\nAPPGRP="root"\n' })))).toBe('Error: 13\n');
    expect(await upload(file('sdk.eap', await eap({ 'manifest.json': manifest('sdkuser', '1.0.0', { user: { username: 'sdk', group: 'sdk' } }) })))).toBe('OK\n');
    expect(await list()).toMatch(/Name="sdkuser"[^>]*Status="Stopped"[^>]*ConfigurationPage=""[^>]*VendorHomePage=""/);
    expect(await list()).not.toMatch(/Name="(partial|rooted)"/);
    const v1 = file('v1.eap', await eap({ 'manifest.json': manifest('vend', '1.0.0', { vendorId: '0123456789' }) }));
    const v2 = file('v2.eap', await eap({ 'manifest.json': manifest('vend', '2.0.0', { vendorId: 'abcdefabcd' }) }));
    expect(await upload(v1)).toBe('OK\n');
    expect(await upload(v2)).toBe('Error: 27\n');
    // No file part at all.
    const none = await curl(`${cam.url}/axis-cgi/applications/upload.cgi`, { ...auth, form: ['other=x'] });
    expect(none.body.toString()).toBe('Error: 1\n');
  });

  it('refuses a package whose compatibleOsVersions exclude the camera\'s AXIS OS with Error: 5', async () => {
    const v2 = (range: Record<string, string>): string =>
      JSON.stringify({ schemaVersion: '2.2.0', acapPackageConf: { setup: { appName: 'osgate', vendor: 'Acme', vendorId: '0a1b2c3d4e', version: '1.0.0', runMode: 'never', architecture: 'aarch64', compatibleOsVersions: [range] } } });
    // This camera runs AXIS OS 12.2.
    expect(await upload(file('newer.eap', await eap({ 'manifest.json': v2({ min: '12.11', max: '13' }) })))).toBe('Error: 5\n');
    expect(await upload(file('fits.eap', await eap({ 'manifest.json': v2({ max: '13' }) })))).toBe('OK\n');
  });

  it('refuses uploads over 64 MiB with Error: 3', async () => {
    const big = path.join(dir, 'big.eap');
    fs.writeFileSync(big, Buffer.alloc(65 * 1024 * 1024, 1));
    expect(await upload(big)).toBe('Error: 3\n');
    fs.rmSync(big);
  });

  it('keeps the agent key across an upgrade (local data), a new epoch at each start; rotation only as admin', async () => {
    const viewer = cam.users!.find((u) => u.role === 'viewer')!;
    const v = { user: viewer.username, pass: viewer.password };
    const id1 = JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, v)).body.toString());
    expect(id1).toMatchObject({ camera: cam.serial, version: '1.2.0' });
    expect(Buffer.from(id1.publicKey, 'base64')).toHaveLength(32);
    expect(id1.key).toBe(createHash('sha256').update(Buffer.from(id1.publicKey, 'base64')).digest('hex').slice(0, 16));
    // The upgrade's manifest declares the same reverse proxy as native/manifest.json.
    const proxy = JSON.parse(fs.readFileSync(path.join(__dirname, '../../native/manifest.json'), 'utf8')).acapPackageConf.configuration.reverseProxy;
    const up = await eap({ 'manifest.json': JSON.stringify({ schemaVersion: '1.7.0', acapPackageConf: { setup: { appName: 'omnisight', vendor: 'OmniSight', version: '1.3.0', runMode: 'respawn', architecture: 'aarch64' }, configuration: { reverseProxy: proxy } } }) });
    expect(await upload(file('agent.eap', up))).toBe('OK\n');
    expect((await curl(`${cam.url}/local/omnisight/identity.cgi`, auth)).status).toBe(503);
    expect(await control('start', 'omnisight')).toBe('OK\n');
    const id2 = JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, auth)).body.toString());
    expect(id2).toMatchObject({ key: id1.key, publicKey: id1.publicKey, version: '1.3.0' });
    expect(id2.epoch).toBeGreaterThan(id1.epoch);
    expect(await control('restart', 'omnisight')).toBe('OK\n');
    const id3 = JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, auth)).body.toString());
    expect(id3).toMatchObject({ key: id1.key });
    expect(id3.epoch).toBe(id2.epoch + 1);
    // Rotation: refused on the viewer path (even for an administrator), refused for a viewer on the admin path.
    expect((await curl(`${cam.url}/local/omnisight/identity.cgi?action=rotate`, { ...auth, method: 'POST' })).status).toBe(403);
    expect((await curl(`${cam.url}/local/omnisight/admin/identity.cgi?action=rotate`, { ...v, method: 'POST' })).status).toBe(403);
    const rotated = JSON.parse((await curl(`${cam.url}/local/omnisight/admin/identity.cgi?action=rotate`, { ...auth, method: 'POST' })).body.toString());
    expect(rotated.key).not.toBe(id1.key);
    expect(JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, v)).body.toString()).key).toBe(rotated.key);
    // Removing the app removes its local data: a reinstall is a new identity.
    expect(await control('remove', 'omnisight')).toBe('OK\n');
    expect((await curl(`${cam.url}/local/omnisight/identity.cgi`, v)).status).toBe(404);
    expect(await upload(file('agent2.eap', up))).toBe('OK\n');
    expect(await control('start', 'omnisight')).toBe('OK\n');
    const id4 = JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, v)).body.toString());
    expect(id4.key).not.toBe(rotated.key);
    expect(id4.epoch).toBe(1);
  });

  it('serves calibration.cgi from the app\'s local data, only where the manifest declares it', async () => {
    const v = cam.users!.find((u) => u.role === 'viewer')!;
    const got = await curl(`${cam.url}/local/omnisight/calibration.cgi`, { user: v.username, pass: v.password });
    // The reinstall above started with empty local data: no calibration until an administrator sets one.
    expect(got.status).toBe(404);
    const points = [0.1, 0.5, 0.9, 0.5].map((u, i) => ({ image: { u, v: i < 3 ? 0.9 : 0.6 }, ground: { x: 10 + i, y: 3 * i } }));
    const set = await curl(`${cam.url}/local/omnisight/admin/calibration.cgi`, { ...auth, data: JSON.stringify({ points, source: 'installer' }) });
    expect(set.status).toBe(200);
    const again = JSON.parse((await curl(`${cam.url}/local/omnisight/calibration.cgi`, { user: v.username, pass: v.password })).body.toString());
    expect(again).toEqual({ camera: cam.serial, source: 'installer', points });
    // With an include area (where the detector works): stored and served; a bad one is refused and
    // the calibration before it still served.
    const includeArea = [{ u: 0, v: 0.4 }, { u: 1, v: 0.45 }, { u: 1, v: 1 }, { u: 0, v: 1 }];
    expect((await curl(`${cam.url}/local/omnisight/admin/calibration.cgi`, { ...auth, data: JSON.stringify({ points, includeArea }) })).status).toBe(200);
    for (const bad of [includeArea.slice(0, 2), [...includeArea.slice(1), { u: 1.5, v: 0 }], [{ u: 0 }, ...includeArea.slice(1)], 'all'])
      expect((await curl(`${cam.url}/local/omnisight/admin/calibration.cgi`, { ...auth, data: JSON.stringify({ points, includeArea: bad }) })).status).toBe(400);
    const withArea = JSON.parse((await curl(`${cam.url}/local/omnisight/calibration.cgi`, { user: v.username, pass: v.password })).body.toString());
    expect(withArea).toEqual({ camera: cam.serial, source: 'camera', points, includeArea });
    // An app whose manifest declares no reverse proxy has no routes.
    expect((await curl(`${cam.url}/local/other/identity.cgi`, auth)).status).toBe(404);
  });
});
