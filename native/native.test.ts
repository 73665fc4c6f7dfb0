// Runs the real aarch64 build under qemu-aarch64-static against a local mosquitto and a fake
// detection source, and checks what arrives on the wire against docs/protocol.md (envelope v2) and
// the identity lifecycle of SHARED-SPECS.md: key created on first start in the app's local data,
// kept across restarts, a higher boot epoch at every start, seq from 1 in each epoch, rotation only
// on the admin path.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeUnderLock, missingTool, MULTIARCH_LOADER, NATIVE, TEST_VERSION } from './testkit';

const VERSION = TEST_VERSION;
const SERIAL = 'B8A44F7D507D';

const skipReason = missingTool();
if (skipReason) console.log(`native/native.test.ts skipped: ${skipReason}`);

interface Envelope { v: number; camera: string; epoch: number; seq: number; sent: number; kind: string; key: string; body: string; sig: string }
interface Identity { camera: string; key: string; publicKey: string; version: string; epoch: number }

const make = (out: string, extra: string[]): void => makeUnderLock(out, extra);

async function until<T>(what: string, get: () => T | undefined, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const keyOf = (publicKey: string): KeyObject => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey, 'base64').toString('base64url') }, format: 'jwk' });
const keyIdOf = (publicKey: string): string => createHash('sha256').update(Buffer.from(publicKey, 'base64')).digest('hex').slice(0, 16);
const verified = (e: Envelope, key: KeyObject): boolean =>
  verify(null, Buffer.from(['omnisight.v2', e.camera, String(e.epoch), String(e.seq), String(e.sent), e.kind, e.key, e.body].join('\n'), 'utf8'), key, Buffer.from(e.sig, 'base64'));

describe.skipIf(skipReason !== null)('on-camera app under qemu (aarch64), camera build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnisight-native-'));
  // The camera build asks for /lib/ld-linux-aarch64.so.1, as AXIS OS has it: a sysroot that has
  // exactly that path (pointing at the arm64 loader whose libc sits beside it).
  const sysroot = join(dir, 'sysroot');
  const localdata = join(dir, 'localdata');
  let broker: ChildProcess | undefined;
  let app: ChildProcess | undefined;
  let client: mqtt.MqttClient | undefined;
  let source: Server | undefined;
  let feed: Socket | undefined;
  let mqttPort = 0;
  let sourcePort = 0;
  let appOut = '';
  let appErr = '';
  const messages: { topic: string; env: Envelope }[] = [];

  const qemu = (bin: string, env: NodeJS.ProcessEnv) =>
    spawn('/usr/bin/qemu-aarch64-static', ['-L', sysroot, bin], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const startApp = (): void => {
    appOut = '';
    appErr = '';
    feed = undefined;
    app = qemu(join(NATIVE, 'build/test-cam/omnisight'), {
      OMNISIGHT_SIM_DETECTIONS: `tcp:127.0.0.1:${sourcePort}`,
      OMNISIGHT_MQTT_HOST: '127.0.0.1',
      OMNISIGHT_MQTT_PORT: String(mqttPort),
      OMNISIGHT_CAMERA_SERIAL: SERIAL,
      OMNISIGHT_LOCALDATA: localdata,
      OMNISIGHT_APP_VERSION: VERSION,
      OMNISIGHT_HTTP_PORT: '0',
    });
    app.stdout!.on('data', (d: Buffer) => (appOut += d.toString()));
    app.stderr!.on('data', (d: Buffer) => (appErr += d.toString()));
  };
  const stopApp = async (): Promise<number | null> => {
    const a = app!;
    if (a.exitCode !== null) return a.exitCode;
    const exited = new Promise<number | null>((r) => a.once('exit', (code) => r(code)));
    a.kill('SIGTERM');
    return exited;
  };
  const httpBase = async (): Promise<string> => `http://127.0.0.1:${await until('the identity port', () => /127\.0\.0\.1:(\d+)\//.exec(appOut)?.[1])}`;
  const identity = async (): Promise<Identity> => (await (await fetch(`${await httpBase()}/identity.cgi`)).json()) as Identity;

  beforeAll(async () => {
    make('build/test-cam', ['TARGET=camera']);
    make('build/test-crash', ['TARGET=sim', 'CRASH_AT_START=1']);
    mkdirSync(join(sysroot, 'lib'), { recursive: true });
    symlinkSync(MULTIARCH_LOADER, join(sysroot, 'lib', 'ld-linux-aarch64.so.1'));
    mqttPort = await freePort();
    writeFileSync(join(dir, 'mosquitto.conf'), `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    broker = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    source = createServer((s) => (feed = s));
    await new Promise<void>((r) => source!.listen(0, '127.0.0.1', r));
    sourcePort = (source.address() as { port: number }).port;
    // mosquitto takes a moment to listen: retry the connect briefly.
    for (let i = 0; i < 40 && !client; i++) {
      client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, connectTimeout: 1000 }).catch(async () => {
        await new Promise((r) => setTimeout(r, 50));
        return undefined;
      });
    }
    if (!client) throw new Error('mosquitto did not start');
    client.on('message', (topic, payload) => messages.push({ topic, env: JSON.parse(payload.toString('utf8')) as Envelope }));
    await client.subscribeAsync('axis/+/omnisight/#', { qos: 1 });
    startApp();
  }, 90_000);

  afterAll(async () => {
    if (app && app.exitCode === null) app.kill('SIGKILL');
    feed?.destroy();
    source?.close();
    await client?.endAsync(true);
    broker?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its key on first start in local data (0600, key id = SHA-256 of the public key) and starts epoch 1', async () => {
    const id = await identity();
    expect(id).toMatchObject({ camera: SERIAL, version: VERSION, epoch: 1 });
    expect(Buffer.from(id.publicKey, 'base64')).toHaveLength(32);
    expect(id.key).toBe(keyIdOf(id.publicKey));
    const keyFile = join(localdata, 'signing.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile).subarray(32).toString('base64')).toBe(id.publicKey);
    expect(readFileSync(join(localdata, 'epoch'), 'utf8')).toBe('1\n');
  });

  it('publishes v2 envelopes: a signed heartbeat with its version, then signed detections in the scene-metadata shape', async () => {
    const id = await identity();
    const pub = keyOf(id.publicKey);
    const hb = await until('the first heartbeat', () => messages.find((m) => m.env.kind === 'heartbeat'), 15_000).catch((e: Error) => {
      throw new Error(`${e.message}\napp stderr:\n${appErr}`);
    });
    expect(hb.topic).toBe(`axis/${SERIAL}/omnisight/heartbeat`);
    expect(hb.env).toMatchObject({ v: 2, camera: SERIAL, epoch: 1, key: id.key });
    expect(verified(hb.env, pub)).toBe(true);
    const body = JSON.parse(hb.env.body) as Record<string, unknown>;
    // "model" is the confirmation head in use (docs/protocol.md, fl1): the built-in version 0 here.
    expect(body).toMatchObject({ app: 'omnisight', version: VERSION, model: { name: 'omnisight.head.confirm.v1', version: 0 } });
    expect(body.mem_bytes as number).toBeGreaterThan(0);

    await until('the detection source connection', () => feed);
    const base = 1795222210400;
    for (let i = 0; i < 3; i++) {
      feed!.write(
        JSON.stringify({
          timestamp: base + i * 100,
          width: 640,
          height: 360,
          inference_ms: 17.9,
          fps_camera: 10,
          detections: [
            { box: [64, 36, 320, 180], label: 'person', score: 0.87, track: 17 },
            { box: [700, 0, 800, 10], label: 'car', score: 0.9 }, // wholly outside the frame: dropped
            { box: [0, 0, 10, 10], label: 'dog', score: 0.05 }, // below the score threshold: dropped
          ],
          deleted: i === 2 ? ['12'] : [],
        }) + '\n',
      );
    }
    feed!.write('this line is not JSON\n');
    const dets = await until('three detections', () => {
      const d = messages.filter((m) => m.env.kind === 'detections');
      return d.length >= 3 ? d : undefined;
    });
    for (const d of dets) {
      expect(d.topic).toBe(`axis/${SERIAL}/omnisight/detections`);
      expect(d.env).toMatchObject({ v: 2, camera: SERIAL, epoch: 1, key: id.key });
      expect(verified(d.env, pub)).toBe(true);
    }
    const frame = JSON.parse(dets[2]!.env.body) as { frame: { timestamp: number; observations: unknown[]; operations: unknown[] }; stats: Record<string, number> };
    expect(frame.frame.timestamp).toBe(base + 200);
    expect(frame.frame.observations).toEqual([
      { bounding_box: { left: 0.1, top: 0.1, right: 0.5, bottom: 0.5 }, class: { type: 'Human', score: 0.87 }, track_id: '17', timestamp: base + 200 },
    ]);
    expect(frame.frame.operations).toEqual([{ id: '12', type: 'DeleteOperation' }]);
    expect(frame.stats).toMatchObject({ inference_ms: 17.9, fps_camera: 10, width: 640, height: 360 });
    // A tampered body, or the same message claimed under another epoch, does not verify.
    expect(verified({ ...dets[0]!.env, body: dets[0]!.env.body.replace('Human', 'Car') }, pub)).toBe(false);
    expect(verified({ ...dets[0]!.env, epoch: 2 }, pub)).toBe(false);

    await until('a second heartbeat', () => (messages.filter((m) => m.env.kind === 'heartbeat').length >= 2 ? true : undefined), 4000);
    const seqs = messages.map((m) => m.env.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // starts at 1, +1 per message, shared by both kinds
  }, 30_000);

  it('after a restart: the same key, a higher epoch written before the first message, seq from 1 again', async () => {
    const before = await identity();
    expect(await stopApp()).toBe(0);
    expect(appErr).toContain('stopped');
    messages.length = 0;
    startApp();
    const after = await identity();
    expect(after.key).toBe(before.key);
    expect(after.publicKey).toBe(before.publicKey);
    expect(after.epoch).toBe(before.epoch + 1);
    expect(readFileSync(join(localdata, 'epoch'), 'utf8')).toBe(`${after.epoch}\n`);
    const first = await until('a heartbeat after the restart', () => messages.find((m) => m.env.kind === 'heartbeat'), 15_000);
    expect(first.env).toMatchObject({ epoch: after.epoch, seq: 1, key: before.key });
    expect(verified(first.env, keyOf(before.publicKey))).toBe(true);
    // No (epoch, seq) pair is ever reused: this epoch is new, so even seq 1 is fresh.
  }, 30_000);

  it('rotates only on the admin path, keeps the new key across a restart', async () => {
    const base = await httpBase();
    const old = await identity();
    const refused = await fetch(`${base}/identity.cgi?action=rotate`, { method: 'POST' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('admin/identity.cgi');
    expect((await identity()).key).toBe(old.key);
    expect((await fetch(`${base}/admin/identity.cgi?action=explode`, { method: 'POST' })).status).toBe(400);
    // A viewer path that merely ends like the admin one is not the admin path.
    expect((await fetch(`${base}/identity.cgi/admin/identity.cgi?action=rotate`, { method: 'POST' })).status).toBe(404);
    const rotated = (await (await fetch(`${base}/admin/identity.cgi?action=rotate`, { method: 'POST' })).json()) as Identity;
    expect(rotated.key).not.toBe(old.key);
    expect(rotated.key).toBe(keyIdOf(rotated.publicKey));
    expect(rotated.epoch).toBe(old.epoch);
    messages.length = 0;
    const next = await until('a heartbeat under the new key', () => messages.find((m) => m.env.kind === 'heartbeat' && m.env.key === rotated.key), 4000);
    expect(verified(next.env, keyOf(rotated.publicKey))).toBe(true);
    expect(verified(next.env, keyOf(old.publicKey))).toBe(false);
    expect(await stopApp()).toBe(0);
    startApp();
    expect(await identity()).toMatchObject({ key: rotated.key, publicKey: rotated.publicKey, epoch: old.epoch + 1 });
  }, 30_000);

  it('serves the ground calibration it was given (admin path), 404 before', async () => {
    const base = await httpBase();
    expect((await fetch(`${base}/calibration.cgi`)).status).toBe(404);
    const points = [0.1, 0.5, 0.9, 0.5].map((u, i) => ({ image: { u, v: i < 3 ? 0.9 : 0.6 }, ground: { x: 10 + i, y: 3 * i } }));
    expect((await fetch(`${base}/calibration.cgi`, { method: 'POST', body: JSON.stringify({ points }) })).status).toBe(403);
    expect((await fetch(`${base}/admin/calibration.cgi`, { method: 'POST', body: JSON.stringify({ points: points.slice(0, 3) }) })).status).toBe(400);
    expect((await fetch(`${base}/admin/calibration.cgi`, { method: 'POST', body: JSON.stringify({ points: [...points.slice(1), { image: { u: 2, v: 0 }, ground: { x: 0, y: 0 } }] }) })).status).toBe(400);
    expect((await fetch(`${base}/admin/calibration.cgi`, { method: 'POST', body: JSON.stringify({ points, source: 'installer' }) })).status).toBe(200);
    const got = await (await fetch(`${base}/calibration.cgi`)).json();
    expect(got).toEqual({ camera: SERIAL, source: 'installer', points });
  });

  it('stores and serves the optional include area in canonical form, refuses a bad one and keeps the calibration it had', async () => {
    const base = await httpBase();
    const post = (body: unknown) => fetch(`${base}/admin/calibration.cgi`, { method: 'POST', body: JSON.stringify(body) });
    const served = async () => (await fetch(`${base}/calibration.cgi`)).text();
    const points = [0.1, 0.5, 0.9, 0.5].map((u, i) => ({ image: { u, v: i < 3 ? 0.9 : 0.6 }, ground: { x: 10 + i, y: 3 * i } }));
    // More than 6 decimals and members in another order: the stored form rounds and reorders.
    const sent = [{ v: 0.41, u: 0 }, { u: 0.50000049, v: 0.3812346 }, { u: 1, v: 0.43 }, { u: 1, v: 1 }, { u: 0, v: 1 }];
    const canonical = [{ u: 0, v: 0.41 }, { u: 0.5, v: 0.381235 }, { u: 1, v: 0.43 }, { u: 1, v: 1 }, { u: 0, v: 1 }];
    const ok = await post({ includeArea: sent, source: 'installer', points });
    expect(ok.status).toBe(200);
    const stored = await served();
    expect(await ok.text()).toBe(stored);
    // includeArea after points, key order as documented (a string compare, not only deep equality).
    expect(stored).toBe(
      `${JSON.stringify({ camera: SERIAL, source: 'installer', points, includeArea: canonical })}\n`,
    );
    const refusals: [string, unknown][] = [
      ['2 vertices', canonical.slice(0, 2)],
      ['33 vertices', Array.from({ length: 33 }, (_, i) => ({ u: i / 32, v: 0.5 + 0.5 * Math.sin(i) ** 2 }))],
      ['u = 1.5', [{ u: 1.5, v: 0 }, ...canonical.slice(1)]],
      ['v missing', [{ u: 0.2 }, ...canonical.slice(1)]],
      ['v a string', [{ u: 0.2, v: '0.4' }, ...canonical.slice(1)]],
      ['a vertex not an object', [[0, 0.4], ...canonical.slice(1)]],
      ['not an array', { u: 0, v: 0 }],
      ['null', null],
    ];
    for (const [what, includeArea] of refusals) {
      const r = await post({ points: points.slice().reverse(), source: 'other', includeArea });
      expect(r.status, what).toBe(400);
      expect(((await r.json()) as { error: string }).error, what).toMatch(/includeArea/);
      expect(await served(), what).toBe(stored);
    }
    // 32 vertices is the most allowed.
    const area32 = Array.from({ length: 32 }, (_, i) => ({ u: i / 31, v: i % 2 ? 0.5 : 1 }));
    expect((await post({ points, includeArea: area32 })).status).toBe(200);
    expect(((await (await fetch(`${base}/calibration.cgi`)).json()) as { includeArea: unknown[] }).includeArea).toHaveLength(32);
    // Absent means the whole frame: nothing stored. Unknown top-level members are ignored, not stored.
    expect((await post({ points, source: 'installer', note: 'x' })).status).toBe(200);
    expect(await served()).toBe(`${JSON.stringify({ camera: SERIAL, source: 'installer', points })}\n`);
  });

  it('refuses to start with a damaged epoch file rather than guess (no epoch reused)', async () => {
    expect(await stopApp()).toBe(0);
    writeFileSync(join(localdata, 'epoch'), 'garbage');
    startApp();
    const code = await new Promise<number | null>((r) => (app!.exitCode !== null ? r(app!.exitCode) : app!.once('exit', (c) => r(c))));
    expect(code).toBe(1);
    expect(appErr).toMatch(/epoch.*damaged/);
  });

  it('the CRASH_AT_START build (simulator variant, multiarch loader) exits with an error right after start', async () => {
    const crash = spawn('/usr/bin/qemu-aarch64-static', [join(NATIVE, 'build/test-crash/omnisight')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    crash.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => crash.once('exit', (c) => r(c)));
    expect(code).toBe(70);
    expect(err).toContain('CRASH_AT_START');
  });
});

const glibArm64 = existsSync('/usr/lib/aarch64-linux-gnu/pkgconfig/glib-2.0.pc');
describe.skipIf(skipReason !== null || !glibArm64)('the real-camera HAL (hal_axis.c) compiles against the SDK signatures', () => {
  it('compiles with -Werror against sdk-decl/ (every call declared, types right), and fails when a declaration is missing', () => {
    const ok = spawnSync('make', ['-s', 'check-hal-axis'], { cwd: NATIVE, encoding: 'utf8' });
    expect(ok.stderr + ok.stdout).toBe('');
    expect(ok.status).toBe(0);
    // The check is not vacuous: without larodRunJob's declaration the same compile fails.
    const decl = mkdtempSync(join(tmpdir(), 'sdk-decl-'));
    try {
      spawnSync('cp', ['-r', `${join(NATIVE, 'sdk-decl')}/.`, decl]);
      writeFileSync(join(decl, 'larod.h'), readFileSync(join(decl, 'larod.h'), 'utf8').replace(/^bool larodRunJob.*$/m, ''));
      const bad = spawnSync('make', ['-s', 'check-hal-axis', `SDK_DECL=${decl}`], { cwd: NATIVE, encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/implicit declaration of function .larodRunJob./);
    } finally {
      rmSync(decl, { recursive: true, force: true });
    }
  });

  it('handles the VDO row pitch: asks VDO for it and hands it to the preprocessing', () => {
    const src = readFileSync(join(NATIVE, 'src/hal_axis.c'), 'utf8');
    expect(src).toMatch(/vdo_stream_get_info\(/);
    expect(src).toMatch(/vdo_map_get_uint32\(info, "pitch"/);
    expect(src).toMatch(/"image\.input\.row-pitch", h->pitch/);
  });
});
