// Runs the real aarch64 build under qemu-aarch64-static against a local mosquitto and a fake
// detection source, and checks what arrives on the wire against docs/protocol.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const NATIVE = __dirname;
const VERSION = '1.2.3';
const SERIAL = 'B8A44F7D507D';

function missingTool(): string | null {
  if (!existsSync('/usr/bin/aarch64-linux-gnu-gcc')) return 'aarch64-linux-gnu-gcc is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/bin/qemu-aarch64-static')) return 'qemu-aarch64-static is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/sbin/mosquitto')) return 'mosquitto is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/lib/aarch64-linux-gnu/libsodium.so') || !existsSync('/usr/lib/aarch64-linux-gnu/libmosquitto.so'))
    return 'the arm64 libsodium/libmosquitto are not installed (run scripts/setup-cross.sh)';
  return null;
}
const skipReason = missingTool();
if (skipReason) console.log(`native/native.test.ts skipped: ${skipReason}`);

interface Envelope { v: number; camera: string; seq: number; sent: number; kind: string; key: string; body: string; sig: string }

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function make(out: string, crash: boolean): void {
  const r = spawnSync('make', ['-s', '-j2', `VERSION=${VERSION}`, `CRASH_AT_START=${crash ? 1 : 0}`, `OUT=${out}`], { cwd: NATIVE, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make failed: ${r.stdout}${r.stderr}`);
}

async function until<T>(what: string, get: () => T | undefined, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const qemu = (bin: string, env: NodeJS.ProcessEnv) =>
  spawn('/usr/bin/qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', bin], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

describe.skipIf(skipReason !== null)('on-camera app under qemu (aarch64)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnisight-native-'));
  let broker: ChildProcess | undefined;
  let app: ChildProcess | undefined;
  let client: mqtt.MqttClient | undefined;
  let source: Server | undefined;
  let feed: Socket | undefined;
  let appOut = '';
  let appErr = '';
  const messages: { topic: string; env: Envelope }[] = [];
  let publicKey: KeyObject;
  let publicRaw: Buffer;

  beforeAll(async () => {
    make('build/test-ok', false);
    make('build/test-crash', true);
    const mqttPort = await freePort();
    writeFileSync(join(dir, 'mosquitto.conf'), `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    broker = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    const kp = generateKeyPairSync('ed25519');
    const seed = kp.privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
    publicRaw = kp.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicRaw.toString('base64url') }, format: 'jwk' });
    writeFileSync(join(dir, 'key'), Buffer.concat([seed, publicRaw]), { mode: 0o600 });
    source = createServer((s) => (feed = s));
    await new Promise<void>((r) => source!.listen(0, '127.0.0.1', r));
    const sourcePort = (source.address() as { port: number }).port;

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

    app = qemu(join(NATIVE, 'build/test-ok/omnisight'), {
      OMNISIGHT_SIM_DETECTIONS: `tcp:127.0.0.1:${sourcePort}`,
      OMNISIGHT_MQTT_HOST: '127.0.0.1',
      OMNISIGHT_MQTT_PORT: String(mqttPort),
      OMNISIGHT_CAMERA_SERIAL: SERIAL,
      OMNISIGHT_KEY_FILE: join(dir, 'key'),
      OMNISIGHT_APP_VERSION: VERSION,
      OMNISIGHT_HTTP_PORT: '0',
    });
    app.stdout!.on('data', (d: Buffer) => (appOut += d.toString()));
    app.stderr!.on('data', (d: Buffer) => (appErr += d.toString()));
  }, 60_000);

  afterAll(async () => {
    if (app && app.exitCode === null) app.kill('SIGKILL');
    feed?.destroy();
    source?.close();
    await client?.endAsync(true);
    broker?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  const verified = (m: { topic: string; env: Envelope }) => {
    const e = m.env;
    const input = Buffer.from(['omnisight.v1', e.camera, String(e.seq), String(e.sent), e.kind, e.key, e.body].join('\n'), 'utf8');
    return verify(null, input, publicKey, Buffer.from(e.sig, 'base64'));
  };

  it('publishes a signed heartbeat with its version, then signed detections in the scene-metadata shape', async () => {
    const hb = await until('the first heartbeat', () => messages.find((m) => m.env.kind === 'heartbeat'), 15_000).catch((e: Error) => {
      throw new Error(`${e.message}\napp stderr:\n${appErr}`);
    });
    expect(hb.topic).toBe(`axis/${SERIAL}/omnisight/heartbeat`);
    expect(verified(hb)).toBe(true);
    const body = JSON.parse(hb.env.body) as Record<string, unknown>;
    expect(body).toMatchObject({ app: 'omnisight', version: VERSION, model: 'ssd_mobilenet_v2' });
    expect(typeof body.uptime_s).toBe('number');
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
      expect(d.env).toMatchObject({ v: 1, camera: SERIAL, key: 'k1' });
      expect(verified(d)).toBe(true);
    }
    const frame = JSON.parse(dets[2]!.env.body) as {
      frame: { timestamp: number; observations: unknown[]; operations: unknown[] };
      stats: Record<string, number>;
    };
    expect(frame.frame.timestamp).toBe(base + 200);
    expect(frame.frame.observations).toEqual([
      { bounding_box: { left: 0.1, top: 0.1, right: 0.5, bottom: 0.5 }, class: { type: 'Human', score: 0.87 }, track_id: '17', timestamp: base + 200 },
    ]);
    expect(frame.frame.operations).toEqual([{ id: '12', type: 'DeleteOperation' }]);
    expect(frame.stats).toMatchObject({ inference_ms: 17.9, fps_camera: 10, width: 640, height: 360 });
    expect(frame.stats.fps_processed).toBeGreaterThanOrEqual(1);

    // A tampered body must not verify (the check above is not vacuous).
    expect(verified({ topic: '', env: { ...dets[0]!.env, body: dets[0]!.env.body.replace('Human', 'Car') } })).toBe(false);

    await until('a second heartbeat', () => (messages.filter((m) => m.env.kind === 'heartbeat').length >= 2 ? true : undefined), 4000);
    const seqs = messages.map((m) => m.env.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // starts at 1, +1 per message, shared by both kinds
    expect(messages.every(verified)).toBe(true);
  }, 30_000);

  it('serves identity.cgi with its public key on the loopback port', async () => {
    const port = await until('the identity port', () => /127\.0\.0\.1:(\d+)\//.exec(appOut)?.[1]);
    const res = await fetch(`http://127.0.0.1:${port}/local/omnisight/identity.cgi`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ camera: SERIAL, key: 'k1', publicKey: publicRaw.toString('base64'), version: VERSION });
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => app!.once('exit', (code) => r(code)));
    app!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(appErr).toContain('stopped');
  });

  it('the CRASH_AT_START build exits with an error right after start', async () => {
    const crash = qemu(join(NATIVE, 'build/test-crash/omnisight'), {});
    let err = '';
    crash.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => crash.once('exit', (c) => r(c)));
    expect(code).toBe(70);
    expect(err).toContain('CRASH_AT_START');
  });
});
