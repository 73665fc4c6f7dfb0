import net from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { comTimestamp, curl, isCompleteJpeg, MjpegReader, sleep } from './testkit';
import { discoveryNeedsLogin } from './vapix-device';

const bdi = (url: string, body: unknown, auth?: { user: string; pass: string }): ReturnType<typeof curl> =>
  curl(`${url}/axis-cgi/basicdeviceinfo.cgi`, { ...auth, data: typeof body === 'string' ? body : JSON.stringify(body), extra: ['-H', 'Content-Type: application/json'] });

describe('device information and parameters', () => {
  let fleet: SimFleet;
  let a8: SimCameraInfo;
  let a9: SimCameraInfo;
  beforeAll(async () => {
    fleet = await startSimulatedFleet({ cameras: 2, seed: 5 });
    [a8, a9] = fleet.cameras as [SimCameraInfo, SimCameraInfo];
  });
  afterAll(() => fleet.stop());

  it('gives unrestricted properties without credentials', async () => {
    const r = await bdi(a8.url, { apiVersion: '1.0', context: 'c1', method: 'getAllUnrestrictedProperties' });
    expect(r.status).toBe(200);
    const j = JSON.parse(r.body.toString());
    expect(j.context).toBe('c1');
    expect(j.data.propertyList).toMatchObject({ Brand: 'AXIS', ProdNbr: 'Q1656', ProdFullName: 'AXIS Q1656 Box Camera', SerialNumber: a8.serial });
    expect(j.data.propertyList.Soc).toBeUndefined();
    expect(a8.serial).toMatch(/^[0-9A-F]{12}$/);
  });

  it('asks for a login to API discovery on the 9.80 and 10.12 LTS tracks only', () => {
    expect(['9.80.3', '9.80', '10.12.236'].map(discoveryNeedsLogin)).toEqual([true, true, true]);
    expect(['9.8.1', '10.1.2', '10.120.1', '11.11.73', '12.0.91', '8.50.1'].map(discoveryNeedsLogin)).toEqual([false, false, false, false, false, false]);
  });

  it('gives all properties (architecture, SoC) to an operator, not to a viewer', async () => {
    const viewer = a9.users!.find((u) => u.role === 'viewer')!;
    const operator = a9.users!.find((u) => u.role === 'operator')!;
    expect((await bdi(a9.url, { apiVersion: '1.0', method: 'getAllProperties' })).status).toBe(401);
    expect((await bdi(a9.url, { apiVersion: '1.0', method: 'getAllProperties' }, { user: viewer.username, pass: viewer.password })).status).toBe(403);
    const r = await bdi(a9.url, { apiVersion: '1.0', method: 'getAllProperties' }, { user: operator.username, pass: operator.password });
    const p = JSON.parse(r.body.toString()).data.propertyList;
    expect(p).toMatchObject({ Architecture: 'aarch64', Soc: 'Axis Artpec-9', ProdNbr: 'Q1728', SerialNumber: a9.serial });
    expect(p.Version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('lists supported versions and returns errors as HTTP 200 JSON', async () => {
    const v = JSON.parse((await bdi(a8.url, { apiVersion: '1.0', method: 'getSupportedVersions' })).body.toString());
    expect(v.data.apiVersions).toContain('1.0');
    const bad = await bdi(a8.url, '{not json', undefined);
    expect(bad.status).toBe(200);
    // Basic device information keeps the older code set: 4000 bad JSON, 2004 method, 2003 version, 2002 not a POST.
    expect(JSON.parse(bad.body.toString()).error.code).toBe(4000);
    const auth = { user: a8.username, pass: a8.password };
    expect(JSON.parse((await bdi(a8.url, { apiVersion: '1.0', method: 'nope' }, auth)).body.toString()).error.code).toBe(2004);
    expect(JSON.parse((await bdi(a8.url, { apiVersion: '9.0', method: 'getAllProperties' }, auth)).body.toString()).error.code).toBe(2003);
    const get = await curl(`${a8.url}/axis-cgi/basicdeviceinfo.cgi`, auth);
    expect([get.status, JSON.parse(get.body.toString()).error.code]).toEqual([200, 2002]);
  });

  it('lists param groups as root.Group.Name=value lines', async () => {
    const auth = { user: a8.username, pass: a8.password };
    const r = await curl(`${a8.url}/axis-cgi/param.cgi?action=list&group=Brand,Properties,Image`, auth);
    const text = r.body.toString();
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(text).toContain('root.Brand.ProdNbr=Q1656\r\n');
    expect(text).toContain(`root.Properties.System.SerialNumber=${a8.serial}`);
    expect(text).toMatch(/root\.Properties\.Image\.Resolution=[0-9x,]*640x360/);
    expect(text).toContain('root.Image.I0.Appearance.Resolution=640x360');
    for (const line of text.trim().split('\r\n')) expect(line).toMatch(/^root\.[A-Za-z0-9.]+=/);
    const missing = await curl(`${a8.url}/axis-cgi/param.cgi?action=list&group=Nope`, auth);
    expect(missing.body.toString()).toMatch(/^# Error: /);
  });

  it('survives malformed HTTP and oversized JSON', async () => {
    const { port } = new URL(a8.url);
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.write('\x16\x03\x01 not http at all\r\n\r\n'));
      let got = '';
      s.on('data', (b) => (got += b.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    const big = await bdi(a8.url, JSON.stringify({ apiVersion: '1.0', method: 'getSupportedVersions', pad: 'x'.repeat(70_000) }));
    expect(JSON.parse(big.body.toString()).error.code).toBe(4000);
    expect((await bdi(a8.url, { apiVersion: '1.0', method: 'getSupportedVersions' })).status).toBe(200);
  });

  it('answers unknown paths with 404 and bad video parameters with 400, and keeps serving', async () => {
    const auth = { user: a8.username, pass: a8.password };
    expect((await curl(`${a8.url}/nothing/here`, auth)).status).toBe(404);
    expect((await curl(`${a8.url}/axis-cgi/jpg/image.cgi?resolution=huge`, auth)).status).toBe(400);
    expect((await curl(`${a8.url}/axis-cgi/mjpg/video.cgi?fps=-1`, auth)).status).toBe(400);
    expect((await bdi(a8.url, { apiVersion: '1.0', method: 'getSupportedVersions' })).status).toBe(200);
  });
});

describe('video', () => {
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  beforeAll(async () => {
    fleet = await startSimulatedFleet({ cameras: 1, seed: 9 });
    cam = fleet.cameras[0]!;
  });
  afterAll(() => fleet.stop());

  it('serves a snapshot at the requested size, the capture time in its COM segment and no header a camera lacks', async () => {
    const r = await curl(`${cam.url}/axis-cgi/jpg/image.cgi?resolution=320x180&compression=40`, { user: cam.username, pass: cam.password });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/jpeg');
    expect(isCompleteJpeg(r.body)).toBe(true);
    expect(r.headers['x-frame-timestamp']).toBeUndefined();
    const ts = comTimestamp(r.body)!;
    expect(Math.abs(ts - Date.now())).toBeLessThan(2000);
    const meta = await sharp(r.body).metadata();
    expect([meta.width, meta.height]).toEqual([320, 180]);
  });

  it('streams MJPEG parts with Content-Length and matching timestamps at about the requested fps', async () => {
    const viewer = cam.users!.find((u) => u.role === 'viewer')!;
    const url = `${cam.url}/axis-cgi/mjpg/video.cgi?resolution=480x270&fps=10&compression=30&camera=1`;
    const a = new MjpegReader(url, viewer.username, viewer.password);
    const b = new MjpegReader(url, cam.username, cam.password);
    try {
      await sleep(2200);
    } finally {
      a.stop();
      b.stop();
    }
    expect(a.contentType).toBe('multipart/x-mixed-replace; boundary=myboundary');
    expect(a.skippedBytes).toBe(0);
    const parts = a.parts.slice(1); // the first part may come early
    expect(parts.length).toBeGreaterThanOrEqual(12);
    expect(parts.length).toBeLessThanOrEqual(24);
    const stamps = a.parts.map((p) => comTimestamp(p.body)!);
    for (const p of a.parts) {
      // AXIS OS's part headers, nothing more.
      expect(Object.keys(p.headers).sort()).toEqual(['content-length', 'content-type']);
      expect(p.headers['content-type']).toBe('image/jpeg');
      expect(Number(p.headers['content-length'])).toBe(p.body.length);
      expect(isCompleteJpeg(p.body)).toBe(true);
      expect(comTimestamp(p.body)).toBeGreaterThan(0);
    }
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]!);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(90);
    const meta = await sharp(a.parts[0]!.body).metadata();
    expect([meta.width, meta.height]).toEqual([480, 270]);
    // Two viewers of the same size share one encoded frame.
    const bByTs = new Map(b.parts.map((p) => [comTimestamp(p.body), p.body]));
    const shared = a.parts.filter((p) => bByTs.has(comTimestamp(p.body)));
    expect(shared.length).toBeGreaterThan(5);
    for (const p of shared) expect(p.body.equals(bByTs.get(comTimestamp(p.body))!)).toBe(true);
  });

  it('renders moving content: frames a second apart differ', async () => {
    const auth = { user: cam.username, pass: cam.password };
    const one = await curl(`${cam.url}/axis-cgi/jpg/image.cgi?resolution=320x180`, auth);
    await sleep(1000);
    const two = await curl(`${cam.url}/axis-cgi/jpg/image.cgi?resolution=320x180`, auth);
    const [ra, rb] = await Promise.all([sharp(one.body).raw().toBuffer(), sharp(two.body).raw().toBuffer()]);
    let diff = 0;
    for (let i = 0; i < ra.length; i++) if (Math.abs(ra[i]! - rb[i]!) > 40) diff++;
    expect(diff).toBeGreaterThan(20);
  });
});
