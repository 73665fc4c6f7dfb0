import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import mqtt, { type MqttClient } from 'mqtt';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../mqtt';
import { checkEap, readTar } from './eap';
import { findEmulator, startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl, sleep } from './testkit';

// The test packs by hand with tar-stream: the simulator's reader must accept what any tar writer makes.
async function eap(files: Record<string, string | Buffer>, mode: Record<string, number> = {}): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, data] of Object.entries(files)) pack.entry({ name, mtime: new Date(0), uid: 0, gid: 0, mode: mode[name] ?? 0o644 }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

const manifest = (version: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ schemaVersion: '1.7.0', acapPackageConf: { setup: { appName: 'omnisight', friendlyName: 'OmniSight', vendor: 'OmniSight', version, runMode: 'respawn', architecture: 'aarch64', ...extra } } });

describe('eap reader', () => {
  it('parses tar headers and checks manifests with the upload.cgi codes', async () => {
    const ok = await checkEap(await eap({ 'manifest.json': manifest('2.0.0'), omnisight: 'x' }), 'aarch64');
    expect(ok).toMatchObject({ ok: true, appName: 'omnisight', version: '2.0.0', architecture: 'aarch64' });
    expect(await checkEap(Buffer.from('nope, not gzip at all'), 'aarch64')).toMatchObject({ ok: false, code: 1 });
    expect(await checkEap(gzipSync(Buffer.alloc(1024, 7)), 'aarch64')).toMatchObject({ ok: false, code: 1 });
    expect(await checkEap(await eap({ 'manifest.json': manifest('1.0.0', { architecture: 'armv7hf' }) }), 'aarch64')).toMatchObject({ ok: false, code: 5 });
    expect(await checkEap(await eap({ 'manifest.json': manifest('1.0.0', { architecture: 'all' }), 'package.conf': 'APPTYPE="armv7hf"\n' }), 'aarch64')).toMatchObject({ ok: false, code: 5 });
    expect(await checkEap(await eap({ 'manifest.json': manifest('1.0.0', { colour: 'red' }) }), 'aarch64')).toMatchObject({ ok: false, code: 29 });
    expect(await checkEap(await eap({ 'manifest.json': manifest('1.0') }), 'aarch64')).toMatchObject({ ok: false, code: 29 });
    expect(await checkEap(await eap({ 'manifest.json': manifest('1.0.0', { appName: '9lives' }) }), 'aarch64')).toMatchObject({ ok: false, code: 29 });
    const v2 = JSON.stringify({ schemaVersion: '2.0.0', acapPackageConf: { setup: { appName: 'omnisight', vendor: 'O', version: '1.0.0', runMode: 'never', architecture: 'aarch64' } } });
    expect(await checkEap(await eap({ 'manifest.json': v2 }), 'aarch64')).toMatchObject({ ok: false, code: 29, reason: expect.stringContaining('vendorId') });
    // A corrupted header checksum is not a tar.
    const raw = Buffer.alloc(1536);
    raw.write('a.txt', 0);
    expect(() => readTar(raw)).toThrow(/checksum/);
  });
});

const emulator = findEmulator();
const binary = path.resolve(__dirname, '../../native/build/aarch64-sim-1.0.0/omnisight');
const canRun = !!emulator && fs.existsSync(binary);
if (!canRun) console.warn(`camsim runner: skipping the qemu cases: ${emulator ? `no native build at ${binary} (run make in native/)` : 'qemu-aarch64-static is not on PATH'}`);

describe.skipIf(!canRun)('a deployed aarch64 program under qemu', () => {
  let broker: EmbeddedBroker;
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let auth: { user: string; pass: string };
  let sub: MqttClient;
  let dir: string;
  const beats: { key: string; body: { version: string }; sig: string; raw: Record<string, unknown> }[] = [];
  const control = async (action: string): Promise<string> => (await curl(`${cam.url}/axis-cgi/applications/control.cgi?action=${action}&package=omnisight`, auth)).body.toString();
  const list = async (): Promise<string> => (await curl(`${cam.url}/axis-cgi/applications/list.cgi`, { ...auth, method: 'POST' })).body.toString();
  const upload = async (pkg: Buffer): Promise<string> => {
    const p = path.join(dir, `p${Math.random()}.eap`);
    fs.writeFileSync(p, pkg);
    return (await curl(`${cam.url}/axis-cgi/applications/upload.cgi`, { ...auth, form: [`file=@${p}`] })).body.toString();
  };
  const waitFor = async (what: string, cond: () => boolean | Promise<boolean>, ms = 8000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-runner-'));
    broker = await startEmbeddedBroker();
    fleet = await startSimulatedFleet({ cameras: 1, seed: 5 });
    cam = fleet.cameras[0]!;
    auth = { user: cam.username, pass: cam.password };
    const mq = await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { ...auth, data: JSON.stringify({ apiVersion: '1.0', method: 'configureClient', params: { server: { protocol: 'tcp', host: '127.0.0.1', port: broker.port } } }) });
    expect(mq.status).toBe(200);
    await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { ...auth, data: JSON.stringify({ apiVersion: '1.0', method: 'activateClient' }) });
    await curl(`${cam.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true`, auth);
    sub = mqtt.connect(broker.url);
    await new Promise<void>((r) => sub.on('connect', () => r()));
    await sub.subscribeAsync(`axis/${cam.serial}/omnisight/heartbeat`);
    sub.on('message', (_t, payload) => {
      const env = JSON.parse(payload.toString()) as Record<string, unknown>;
      beats.push({ key: env.key as string, body: JSON.parse(env.body as string) as { version: string }, sig: env.sig as string, raw: env });
    });
  });
  afterAll(async () => {
    sub?.end(true);
    await fleet?.stop();
    await broker?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs, runs the real program, reports its key and signed heartbeats, and stops it', async () => {
    expect(fleet.appMode).toBe('native');
    const pkg = await eap({ 'manifest.json': manifest('1.0.0'), omnisight: fs.readFileSync(binary) }, { omnisight: 0o755 });
    expect(await upload(pkg)).toBe('OK\n');
    expect(await list()).toMatch(/Name="omnisight"[^>]*Version="1\.0\.0"[^>]*Status="Stopped"/);
    beats.length = 0;
    expect(await control('start')).toBe('OK\n');
    await waitFor('a heartbeat from the program', () => beats.some((b) => b.body.version === '1.0.0'), 15_000).catch(async (e: Error) => {
      throw new Error(`${e.message}; app log:\n${(await curl(`${cam.url}/axis-cgi/admin/systemlog.cgi?appname=omnisight`, auth)).body.toString()}`);
    });
    const id = JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, auth)).body.toString()) as { key: string; publicKey: string; version: string };
    expect(id.version).toBe('1.0.0');
    const hb = beats.find((b) => b.body.version === '1.0.0')!;
    expect(hb.key).toBe(id.key);
    // The heartbeat verifies against the key identity.cgi reports: the program signs, not the built-in agent.
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(id.publicKey, 'base64')]);
    const r = hb.raw;
    const input = ['omnisight.v1', r.camera, r.seq, r.sent, r.kind, r.key, r.body].join('\n');
    expect(verify(null, Buffer.from(input), createPublicKey({ key: spki, format: 'der', type: 'spki' }), Buffer.from(hb.sig, 'base64'))).toBe(true);
    expect(await list()).toMatch(/Name="omnisight"[^>]*Status="Running"/);
    const t0 = Date.now();
    expect(await control('stop')).toBe('OK\n');
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(await list()).toMatch(/Name="omnisight"[^>]*Status="Stopped"/);
  });

  it('shows a program that exits at start as Stopped', async () => {
    // A shell script is not an aarch64 program; a truncated ELF is, and it dies at once.
    const broken = Buffer.from(fs.readFileSync(binary).subarray(0, 4096));
    expect(await upload(await eap({ 'manifest.json': manifest('1.0.1'), omnisight: broken }, { omnisight: 0o755 }))).toBe('OK\n');
    expect(await control('start')).toBe('OK\n');
    await waitFor('the program to be reported stopped', async () => /Name="omnisight"[^>]*Status="Stopped"/.test(await list()));
    expect(await list()).toMatch(/Version="1\.0\.1"/);
  });

  it('keeps installed programs across a camera crash and restarts what ran', async () => {
    const pkg = await eap({ 'manifest.json': manifest('1.0.0'), omnisight: fs.readFileSync(binary) }, { omnisight: 0o755 });
    expect(await upload(pkg)).toBe('OK\n');
    expect(await control('start')).toBe('OK\n');
    await fleet.faults(cam.id).crash();
    await fleet.faults(cam.id).restart();
    expect(await list()).toMatch(/Name="omnisight"[^>]*Version="1\.0\.0"[^>]*Status="Running"/);
    beats.length = 0;
    await waitFor('a heartbeat after the restart', () => beats.some((b) => b.body.version === '1.0.0'), 15_000);
  });
});
