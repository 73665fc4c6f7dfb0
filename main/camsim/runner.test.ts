import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import mqtt, { type MqttClient } from 'mqtt';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../mqtt';
import { checkEap, checkLoadable, osCompatible, readElf, readTar } from './eap';
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
    // compatibleOsVersions: a bound compares the parts it names.
    expect(osCompatible([{ max: '13' }], '13.2.5')).toBe(true);
    expect(osCompatible([{ min: '12.0', max: '13' }], '11.11.73')).toBe(false);
    expect(osCompatible([{ min: '12.11', max: '13' }], '12.2.62')).toBe(false);
    expect(osCompatible([{ min: '12.0' }], '12.0.91')).toBe(true);
    expect(osCompatible([{ max: '12' }], '13.0.0')).toBe(false);
    expect(osCompatible(undefined, '10.12.1')).toBe(true);
    // A corrupted header checksum is not a tar.
    const raw = Buffer.alloc(1536);
    raw.write('a.txt', 0);
    expect(() => readTar(raw)).toThrow(/checksum/);
  });
});

const cameraBinary = path.resolve(__dirname, '../../native/build/aarch64-camera-1.0.0/omnisight');
const toolchain = fs.existsSync('/usr/bin/aarch64-linux-gnu-gcc') && fs.existsSync('/usr/lib/aarch64-linux-gnu/libsodium.so') && fs.existsSync('/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1');
// Needs the toolchain, not a build left by another test: on a fresh clone nothing has built the
// camera program yet when this file runs, and a test that skipped then never ran in CI.
describe.skipIf(!toolchain || !fs.existsSync('/usr/bin/aarch64-linux-gnu-readelf'))('the simulator\'s ELF reader', () => {
  beforeAll(async () => {
    if (fs.existsSync(cameraBinary)) return;
    const { buildNativeApp } = await import('../packaging');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-elf-'));
    await buildNativeApp({ nativeDir: path.resolve(__dirname, '../../native'), outDir: out, version: '1.0.0' });
    fs.rmSync(out, { recursive: true, force: true });
  }, 120_000);

  it('reads what binutils reads from the camera build: loader, needed libraries, RPATH', async () => {
    const { execFileSync } = await import('node:child_process');
    const text = execFileSync('aarch64-linux-gnu-readelf', ['-W', '-l', '-d', cameraBinary], { encoding: 'utf8' });
    const info = readElf(fs.readFileSync(cameraBinary))!;
    expect(info.machine).toBe(183);
    expect(info.interpreter).toBe(/program interpreter: ([^\]]+)\]/.exec(text)![1]);
    expect(info.needed).toEqual([...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]));
    expect(info.rpath).toBe(/Library rpath: \[([^\]]+)\]/.exec(text)![1]);
    // Without its bundled libraries the same program is refused; a shell script is not checked.
    expect(checkLoadable([{ name: 'omnisight', mode: 0o755, data: fs.readFileSync(cameraBinary) }], 'omnisight')).toMatchObject({ ok: false, reason: expect.stringContaining('libsodium.so.23') });
    expect(checkLoadable([{ name: 'omnisight', mode: 0o755, data: Buffer.from('#!/bin/sh\n') }], 'omnisight')).toEqual({ ok: true });
    expect(() => readElf(Buffer.concat([fs.readFileSync(cameraBinary).subarray(0, 64), Buffer.alloc(8)]))).toThrow();
  });
});

const emulator = findEmulator();
const canRun = !!emulator && toolchain;
if (!canRun) console.warn(`camsim runner: skipping the qemu cases: ${emulator ? 'no aarch64 cross toolchain / arm64 libraries (run scripts/setup-cross.sh)' : 'qemu-aarch64-static is not on PATH'}`);

/** Unpacks an .eap into name → data (and modes), so a test can take a file out and pack it again. */
async function unpack(pkg: Buffer): Promise<{ files: Record<string, Buffer>; modes: Record<string, number> }> {
  const { gunzipSync } = await import('node:zlib');
  const files: Record<string, Buffer> = {};
  const modes: Record<string, number> = {};
  for (const e of readTar(gunzipSync(pkg))) {
    files[e.name] = e.data;
    modes[e.name] = e.mode;
  }
  return { files, modes };
}

describe.skipIf(!canRun)('a deployed aarch64 program under qemu (the camera package, as AXIS OS gets it)', () => {
  let broker: EmbeddedBroker;
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let auth: { user: string; pass: string };
  let sub: MqttClient;
  let dir: string;
  let cameraEap: Buffer;
  let simEap: Buffer;
  const msgs: { key: string; epoch: number; seq: number; body: { version?: string }; raw: Record<string, unknown> }[] = [];
  const control = async (action: string): Promise<string> => (await curl(`${cam.url}/axis-cgi/applications/control.cgi?action=${action}&package=omnisight`, auth)).body.toString();
  const list = async (): Promise<string> => (await curl(`${cam.url}/axis-cgi/applications/list.cgi`, { ...auth, method: 'POST' })).body.toString();
  const upload = async (pkg: Buffer): Promise<string> => {
    const p = path.join(dir, `p${Math.random()}.eap`);
    fs.writeFileSync(p, pkg);
    return (await curl(`${cam.url}/axis-cgi/applications/upload.cgi`, { ...auth, form: [`file=@${p}`] })).body.toString();
  };
  const identity = async (): Promise<{ camera: string; key: string; publicKey: string; version: string; epoch: number }> => {
    const r = await curl(`${cam.url}/local/omnisight/identity.cgi`, auth);
    if (r.status !== 200) throw new Error(`identity.cgi answered ${r.status}: ${r.body.toString()}`);
    return JSON.parse(r.body.toString());
  };
  const log = async (): Promise<string> => (await curl(`${cam.url}/axis-cgi/admin/systemlog.cgi?appname=omnisight`, auth)).body.toString();
  const waitFor = async (what: string, cond: () => boolean | Promise<boolean>, ms = 8000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; app log:\n${await log()}`);
      await sleep(100);
    }
  };
  const verifies = (m: (typeof msgs)[number], publicKey: string): boolean => {
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey, 'base64')]);
    const r = m.raw;
    const input = ['omnisight.v2', r.camera, r.epoch, r.seq, r.sent, r.kind, r.key, r.body].join('\n');
    return verify(null, Buffer.from(input), createPublicKey({ key: spki, format: 'der', type: 'spki' }), Buffer.from(r.sig as string, 'base64'));
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-runner-'));
    const { buildNativeApp } = await import('../packaging');
    const nativeDir = path.resolve(__dirname, '../../native');
    cameraEap = fs.readFileSync((await buildNativeApp({ nativeDir, outDir: path.join(dir, 'camera'), version: '1.0.0' })).path);
    simEap = fs.readFileSync((await buildNativeApp({ nativeDir, outDir: path.join(dir, 'sim'), version: '1.0.0', target: 'sim' })).path);
    broker = await startEmbeddedBroker();
    fleet = await startSimulatedFleet({ cameras: 1, seed: 5 });
    cam = fleet.cameras[0]!;
    auth = { user: cam.username, pass: cam.password };
    const mq = await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { ...auth, data: JSON.stringify({ apiVersion: '1.0', method: 'configureClient', params: { server: { protocol: 'tcp', host: '127.0.0.1', port: broker.port } } }) });
    expect(mq.status).toBe(200);
    await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { ...auth, data: JSON.stringify({ apiVersion: '1.0', method: 'activateClient' }) });
    sub = mqtt.connect(broker.url);
    await new Promise<void>((r) => sub.on('connect', () => r()));
    await sub.subscribeAsync(`axis/${cam.serial}/omnisight/+`, { qos: 1 });
    sub.on('message', (_t, payload) => {
      const env = JSON.parse(payload.toString()) as Record<string, unknown>;
      msgs.push({ key: env.key as string, epoch: env.epoch as number, seq: env.seq as number, body: JSON.parse(env.body as string) as { version?: string }, raw: env });
    });
  }, 120_000);
  afterAll(async () => {
    sub?.end(true);
    await fleet?.stop();
    await broker?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unsigned package while AllowUnsigned is false (the AXIS OS 12 default), until it is set over VAPIX', async () => {
    expect((await curl(`${cam.url}/axis-cgi/applications/config.cgi?action=get&name=AllowUnsigned`, auth)).body.toString()).toContain('value="false"');
    expect(await upload(cameraEap)).toBe('Error: 2\n');
    expect(await log()).toContain('not signed and AllowUnsigned is false');
    await curl(`${cam.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true`, auth);
  });

  it('refuses what AXIS OS cannot load: the multiarch loader, a library neither in the firmware nor in lib/', async () => {
    expect(await upload(simEap)).toBe('Error: 5\n');
    expect(await log()).toContain('asks for the loader /lib/aarch64-linux-gnu/ld-linux-aarch64.so.1, which AXIS OS does not have');
    const { files, modes } = await unpack(cameraEap);
    delete files['lib/libsodium.so.23'];
    expect(await upload(await eap(files, modes))).toBe('Error: 5\n');
    expect(await log()).toContain("needs libsodium.so.23, which is neither part of AXIS OS nor in the package's lib/");
    // Nothing of the refused installs is left on the camera.
    expect(await list()).toMatch(/Name="omnisight"[^>]*Version="1\.2\.0"/);
  });

  it('a deploy of the C app keeps the identity the installed app had; the program signs v2 with it and serves identity.cgi itself', async () => {
    const before = await identity(); // the preinstalled app (the built-in agent)
    expect(await upload(cameraEap)).toBe('OK\n');
    expect(await list()).toMatch(/Name="omnisight"[^>]*Version="1\.0\.0"[^>]*Status="Stopped"/);
    expect(fleet.installedFiles(cam.id, 'omnisight')).toContain('lib/libsodium.so.23');
    msgs.length = 0;
    expect(await control('start')).toBe('OK\n');
    await waitFor('a heartbeat from the program', () => msgs.some((b) => b.body.version === '1.0.0'), 20_000);
    const id = await identity();
    expect(id).toMatchObject({ camera: cam.serial, key: before.key, publicKey: before.publicKey, version: '1.0.0' });
    expect(id.epoch).toBe(before.epoch + 1);
    const hb = msgs.find((b) => b.body.version === '1.0.0')!;
    expect(hb).toMatchObject({ key: id.key, epoch: id.epoch });
    expect(verifies(hb, id.publicKey)).toBe(true);
    // Heartbeats and detections share the counter: the epoch's messages start at seq 1.
    expect(Math.min(...msgs.filter((b) => b.epoch === id.epoch).map((b) => b.seq))).toBe(1);
    expect(await log()).toContain(`boot epoch ${id.epoch}`);
  }, 40_000);

  it('after an app restart and a camera restart: the same key, a higher epoch, seq from 1 again', async () => {
    const first = await identity();
    msgs.length = 0;
    expect(await control('restart')).toBe('OK\n');
    await waitFor('a heartbeat after the app restart', () => msgs.some((b) => b.epoch === first.epoch + 1), 20_000);
    const afterApp = await identity();
    expect(afterApp).toMatchObject({ key: first.key, epoch: first.epoch + 1 });
    expect(Math.min(...msgs.filter((b) => b.epoch === afterApp.epoch).map((b) => b.seq))).toBe(1);
    await fleet.faults(cam.id).crash();
    await fleet.faults(cam.id).restart();
    expect(await list()).toMatch(/Name="omnisight"[^>]*Version="1\.0\.0"[^>]*Status="Running"/);
    msgs.length = 0;
    await waitFor('a heartbeat after the camera restart', () => msgs.some((b) => b.epoch > afterApp.epoch), 20_000);
    const afterCam = await identity();
    expect(afterCam.key).toBe(first.key);
    expect(afterCam.epoch).toBeGreaterThan(afterApp.epoch);
    const fresh = msgs.filter((b) => b.epoch === afterCam.epoch);
    expect(Math.min(...fresh.map((b) => b.seq))).toBe(1);
    expect(fresh.every((b) => verifies(b, first.publicKey))).toBe(true);
    // No (epoch, seq) pair was ever seen twice.
    const pairs = msgs.map((b) => `${b.epoch}/${b.seq}`);
    expect(new Set(pairs).size).toBe(pairs.length);
  }, 60_000);

  it('stops the program on control.cgi stop, and shows a program that exits at start as Stopped', async () => {
    const t0 = Date.now();
    expect(await control('stop')).toBe('OK\n');
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(await list()).toMatch(/Name="omnisight"[^>]*Status="Stopped"/);
    // A truncated ELF is still an aarch64 ELF with the right loader and libraries: it installs, then dies at start.
    const { files, modes } = await unpack(cameraEap);
    const m = JSON.parse(files['manifest.json']!.toString());
    m.acapPackageConf.setup.version = '1.0.1';
    files['manifest.json'] = Buffer.from(JSON.stringify(m));
    files.omnisight = Buffer.from(files.omnisight!.subarray(0, 4096));
    const r = await upload(await eap(files, modes));
    // The truncated program's dynamic section is cut off: refused as damaged, or installed and dead at start.
    if (r === 'OK\n') {
      expect(await control('start')).toBe('OK\n');
      await waitFor('the program to be reported stopped', async () => /Name="omnisight"[^>]*Status="Stopped"/.test(await list()));
    } else expect(r).toBe('Error: 5\n');
  }, 30_000);
});

describe('stale folders', () => {
  it('sweeps camsim-apps-* folders whose process is gone (and old unmarked ones), keeps live ones', async () => {
    const { claimFleetDir, sweepStaleFleetDirs } = await import('./runner');
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-sweep-'));
    const mk = (n: string): string => {
      const d = path.join(parent, n);
      fs.mkdirSync(path.join(d, 'apps', 'x'), { recursive: true });
      return d;
    };
    const dead = mk('camsim-apps-dead');
    claimFleetDir(dead, 2 ** 22 + 12345); // above pid_max's default: no such process
    const live = mk('camsim-apps-live');
    claimFleetDir(live);
    const unmarkedOld = mk('camsim-apps-old');
    const unmarkedNew = mk('camsim-apps-new');
    fs.utimesSync(unmarkedOld, new Date(0), new Date(0));
    const other = mk('something-else');
    const removed = sweepStaleFleetDirs(parent);
    expect(removed.sort()).toEqual([dead, unmarkedOld].sort());
    for (const d of [live, unmarkedNew, other]) expect(fs.existsSync(d)).toBe(true);
    fs.rmSync(parent, { recursive: true, force: true });
  });

  it('a failed install leaves no staging folder; one left by a power loss is swept when the camera starts', async () => {
    const { createEapRuntime } = await import('./runner');
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-staging-'));
    fs.mkdirSync(path.join(base, 'apps', 'omnisight.new', 'lib'), { recursive: true });
    const hw = { serial: 'B8A44F000001', broker: () => undefined, detectionLine: () => undefined, fpsCamera: 10, log: () => undefined };
    const rt = createEapRuntime({ dir: base, hw, emulator: null });
    expect(fs.existsSync(path.join(base, 'apps', 'omnisight.new'))).toBe(false);
    // A package whose file collides with a folder of another entry cannot be written: the install fails.
    const pkg = await eap({ 'manifest.json': manifest('1.0.0'), omnisight: '#!/bin/sh\n', 'html/a': 'x', 'html/a/b': 'y' });
    const r = await rt.install(pkg, { allowUnsigned: true, installed: [], architecture: 'aarch64', firmware: '12.0.91' });
    expect(r.ok).toBe(false);
    expect(fs.readdirSync(path.join(base, 'apps')).filter((n) => n.endsWith('.new'))).toEqual([]);
    await rt.close();
    fs.rmSync(base, { recursive: true, force: true });
  });
});
