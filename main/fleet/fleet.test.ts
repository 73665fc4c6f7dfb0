// The fleet service over the wire: in-process helper core (same message boundary) against the
// simulator, the real database and a file-key SecretStore; the forked helper for restarts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCameraId, type CameraId } from '../../preload/contract/camera-id';
import { createAuditLog } from '../audit';
import { startSimulatedFleet } from '../camsim';
import { createEventBus } from '../kernel/bus';
import { createDispatcher } from '../kernel/dispatcher';
import { silentLogger } from '../kernel/logger';
import { createFileKeySecretStore } from '../app';
import { createMqttService } from '../mqtt';
import { createSwarmService } from '../swarm';
import { createSettingsService } from '../settings';
import { openDatabase } from '../store';
import { createFrameMux, decodeFrame, FRAME_KIND_DETECTIONS, FRAME_KIND_JPEG } from './frames';
import { createFleetService, type FleetService } from './index';
import { createHelperSupervisor, forkHelperFromSource, inProcessHelper, type HelperSupervisor } from './supervisor';

type Fleet = Awaited<ReturnType<typeof startSimulatedFleet>>;
const log = silentLogger();
const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

let sim: Fleet;
let dir: string;
beforeAll(async () => {
  sim = await startSimulatedFleet({ cameras: 2, seed: 3 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-fleet-'));
});
afterAll(async () => {
  await sim?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function build(dataDir: string) {
  const { db, file } = openDatabase({ dir: dataDir });
  const bus = createEventBus();
  const audit = createAuditLog({ db, bus, now: Date.now });
  const secrets = createFileKeySecretStore(db, dataDir);
  const settings = createSettingsService({ db, bus, log, now: Date.now });
  const ref: { fleet?: FleetService } = {};
  const helper = createHelperSupervisor({
    launch: inProcessHelper({ tuning: { stallMs: 1000 } }),
    entry: 'in-process',
    log,
    onEvent: (e) => ref.fleet?.onHelperEvent(e),
    onReady: (r) => ref.fleet?.onHelperReady(r),
  });
  const mqtt = createMqttService({ config: () => ({ mode: 'embedded', url: '', username: '' }), secrets, log });
  // The one trust path, as in the app: raw payloads → the swarm → the fleet.
  const swarm = createSwarmService({ db, bus, log, now: Date.now, audit, keys: { get: (serial) => ref.fleet?.keyFor(serial) }, every: () => () => {} });
  mqtt.onRaw((topic, payload, at) => swarm.ingest(payload, at, topic));
  swarm.onMessage((m) => ref.fleet?.onCameraMessage(m));
  swarm.onRefused((b) => ref.fleet?.onBadMessage(b));
  const fleet = createFleetService({ db, bus, log, audit, secrets, settings, helper, broker: () => mqtt.endpoint(), now: Date.now, noDemo: true });
  ref.fleet = fleet;
  const dispatcher = createDispatcher({ log });
  dispatcher.register(fleet.handlers);
  const call = async (method: string, input: unknown, peer = 'test') => dispatcher.dispatch(method, input, { transport: 'internal', peer });
  return {
    db,
    file,
    bus,
    fleet,
    mqtt,
    call,
    async close() {
      await fleet.close();
      helper.close();
      await mqtt.close();
      swarm.close();
      db.close();
    },
  };
}

const addr = (i: number): string => new URL(sim.cameras[i]!.url).host;

describe('fleet registry over the wire', () => {
  it('refuses bad cameras with specific messages, registers a good one, keeps passwords out of the db', async () => {
    const app = build(path.join(dir, 'a'));
    await app.mqtt.start();
    const cam = sim.cameras[0]!;
    try {
      const wrong = await app.call('fleet.add', { address: addr(0), username: cam.username, password: 'nope' });
      expect(wrong).toMatchObject({ ok: false, error: { code: 'unauthorized', message: expect.stringMatching(/refused user/) } });
      const viewer = cam.users!.find((u) => u.role === 'viewer')!;
      const weak = await app.call('fleet.add', { address: addr(0), username: viewer.username, password: viewer.password });
      expect(weak).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/needs an administrator account/) } });
      const gone = await app.call('fleet.add', { address: '127.0.0.1:1', username: 'root', password: 'x' });
      expect(gone).toMatchObject({ ok: false, error: { code: 'unavailable', message: expect.stringMatching(/Nothing answers at 127\.0\.0\.1:1/) } });

      const added = await app.call('fleet.add', { address: addr(0), username: cam.username, password: cam.password, name: 'Gate', httpsPort: cam.httpsPort });
      expect(added.ok).toBe(true);
      const c = (added as { value: { id: CameraId; model: string; architecture: string; serial: string; soc: string } }).value;
      expect(c).toMatchObject({ serial: cam.serial, architecture: 'aarch64' });
      expect(cam.model).toContain(c.model);
      expect(await app.call('fleet.add', { address: addr(0), username: cam.username, password: cam.password })).toMatchObject({ ok: false, error: { code: 'conflict' } });

      // The camera's MQTT client was pointed at the embedded broker: heartbeats give inference times.
      await until(() => (app.fleet.status(c.id)?.inferenceMs ?? null) !== null, 8000);
      expect(app.fleet.status(c.id)).toMatchObject({ state: 'online' });

      // Feeds: a watched camera sends frames through the mux with channel ids.
      const got: Buffer[] = [];
      app.fleet.attachSink('viewer-1', { send: (d) => got.push(d), bufferedAmount: () => 0, isOpen: () => true });
      const w = await app.call('fleet.watch', { cameraIds: [c.id], width: 320, height: 180, fps: 5 }, 'viewer-1');
      const channel = (w as { value: { channels: { channel: number }[] } }).value.channels[0]!.channel;
      await until(() => got.filter((b) => b[1] === FRAME_KIND_JPEG).length >= 2, 8000);
      const f = decodeFrame(got.find((b) => b[1] === FRAME_KIND_JPEG)!)!;
      expect(f).toMatchObject({ channel, width: 320, height: 180 });
      expect(f.jpeg[0]).toBe(0xff);
      expect(Math.abs(f.ts - Date.now())).toBeLessThan(5000);
      // Detections ride the same channel, stamped with the capture time of the frame they belong to.
      const frameTs = (): Set<number> => new Set(got.filter((b) => b[1] === FRAME_KIND_JPEG).map((b) => decodeFrame(b)!.ts));
      const detTs = (): number[] => got.filter((b) => b[1] === FRAME_KIND_DETECTIONS).map((b) => b.readDoubleBE(4));
      await until(() => detTs().some((t) => frameTs().has(t)), 8000);
      const det = got.find((b) => b[1] === FRAME_KIND_DETECTIONS)!;
      expect(det.readUInt16BE(2)).toBe(channel);
      const body = JSON.parse(det.subarray(16).toString('utf8')) as { observations: unknown[]; inferenceMs: number };
      expect(Array.isArray(body.observations)).toBe(true);
      expect(body.inferenceMs).toBeGreaterThan(0);
      // The signing key was read from identity.cgi at registration.
      expect(app.fleet.keyFor(cam.serial)).toMatchObject({ cameraId: c.id, publicKey: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) });
      expect(await app.call('fleet.unwatch', {}, 'viewer-1')).toMatchObject({ ok: true, value: { stopped: 1 } });
    } finally {
      await app.close();
    }

    // Persistence: reopen and find the camera; its password is only in the secret store.
    const again = build(path.join(dir, 'a'));
    try {
      const list = (await again.call('fleet.list', {})) as { ok: true; value: { cameras: { id: string; name: string }[] } };
      expect(list.value.cameras.map((x) => x.name)).toEqual(['Gate']);
      again.db.pragma('wal_checkpoint(TRUNCATE)');
      const bytes = Buffer.concat([fs.readFileSync(again.file), ...['-wal', '-shm'].filter((s) => fs.existsSync(again.file + s)).map((s) => fs.readFileSync(again.file + s))]);
      expect(bytes.includes(Buffer.from(cam.password))).toBe(false);
      expect(bytes.includes(Buffer.from(cam.serial))).toBe(true); // the scan does see stored text
      const id = list.value.cameras[0]!.id;
      expect(await again.call('fleet.remove', { id })).toMatchObject({ ok: true });
      expect(again.db.prepare('SELECT count(*) AS n FROM secrets WHERE name = ?').get(`camera.${id}.password`)).toEqual({ n: 0 });
    } finally {
      await again.close();
    }
  });

  it('counts invalid MQTT payloads per camera and records them in the audit log', async () => {
    const app = build(path.join(dir, 'b'));
    await app.mqtt.start();
    try {
      const cam = sim.cameras[1]!;
      const added = (await app.call('fleet.add', { address: addr(1), username: cam.username, password: cam.password })) as { ok: true; value: { id: CameraId } };
      const mqtt = await import('mqtt');
      const ep = app.mqtt.endpoint()!;
      const pub = await mqtt.default.connectAsync(`mqtt://${ep.host}:${ep.port}`);
      await pub.publishAsync(`axis/${cam.serial}/omnisight/detections`, '{"v":1}');
      await pub.endAsync();
      await until(() => (app.fleet.status(added.value.id)?.badInput.mqtt ?? 0) >= 1, 3000);
      const n = app.db.prepare("SELECT count(*) AS n FROM audit_events WHERE kind = 'camera.bad_input'").get() as { n: number };
      expect(n.n).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
    }
  });
});

describe('swarm quarantine in fleet status', () => {
  it('shows since and reason on the camera with that serial, publishes it, and clears it on release', async () => {
    const app = build(path.join(dir, 'q'));
    try {
      const cam = sim.cameras[0]!;
      const added = (await app.call('fleet.add', { address: addr(0), username: cam.username, password: cam.password })) as { ok: true; value: { id: CameraId } };
      const pushed: { cameraId: string; quarantined?: unknown }[] = [];
      app.bus.subscribe('fleet.cameraStatus', (st) => pushed.push(st));
      expect(app.fleet.status(added.value.id)?.quarantined).toBeUndefined();
      app.fleet.setQuarantine(cam.serial, { since: 1234, reason: 'conflicting_class' });
      expect(app.fleet.status(added.value.id)?.quarantined).toEqual({ since: 1234, reason: 'conflicting_class' });
      expect(pushed.at(-1)).toMatchObject({ cameraId: added.value.id, quarantined: { since: 1234, reason: 'conflicting_class' } });
      const listed = (await app.call('fleet.list', {})) as { ok: true; value: { statuses: { cameraId: string; quarantined?: unknown }[] } };
      expect(listed.value.statuses.find((x) => x.cameraId === added.value.id)?.quarantined).toEqual({ since: 1234, reason: 'conflicting_class' });
      app.fleet.setQuarantine(cam.serial, null);
      expect(app.fleet.status(added.value.id)?.quarantined).toBeUndefined();
      expect(pushed.at(-1)?.quarantined).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});

describe('camera messages come only through the swarm', () => {
  it('an unverified report (permissive mode) shows its boxes marked and nothing else; a verified one counts', async () => {
    const app = build(path.join(dir, 'u'));
    try {
      const cam = sim.cameras[1]!;
      const added = (await app.call('fleet.add', { address: addr(1), username: cam.username, password: cam.password })) as { ok: true; value: { id: CameraId } };
      const id = added.value.id;
      const heard: boolean[] = [];
      app.fleet.subscribeMessages((m) => heard.push(m.verified));
      const envelope = { v: 2 as const, camera: cam.serial, epoch: 1, seq: 1, sent: 1, kind: 'detections' as const, key: '0123456789abcdef', body: '', sig: '' };
      const frame = { timestamp: 1795000000000, observations: [{ bounding_box: { left: 0.1, top: 0.1, right: 0.2, bottom: 0.3 }, class: { type: 'Human' as const, score: 0.9 }, track_id: '7', timestamp: 1795000000000 }] };
      const before = app.fleet.status(id)!;
      app.fleet.onCameraMessage({ kind: 'heartbeat', serial: cam.serial, envelope: { ...envelope, kind: 'heartbeat' }, body: { app: 'omnisight', version: '9', uptime_s: 1, fps_camera: 99, fps_processed: 1, fps_skipped: 0, inference_ms: 1 }, receivedAt: Date.now(), verified: false });
      app.fleet.onCameraMessage({ kind: 'detections', serial: cam.serial, envelope, body: { frame }, receivedAt: Date.now(), verified: false });
      expect(app.fleet.status(id)!.lastHeartbeat).toBe(before.lastHeartbeat); // an unverified heartbeat keeps nobody online
      const shown = (await app.call('fleet.detections', { id })) as { ok: true; value: { unverified?: boolean; observations: unknown[] } };
      expect(shown.value).toMatchObject({ unverified: true, observations: [{ cls: 'Human', trackId: '7' }] });
      expect(heard).toEqual([]); // the deploy and other subscribers never hear of it
      app.fleet.onCameraMessage({ kind: 'detections', serial: cam.serial, envelope, body: { frame }, receivedAt: Date.now(), verified: true });
      const verified = (await app.call('fleet.detections', { id })) as { ok: true; value: { unverified?: boolean } };
      expect(verified.value.unverified).toBeUndefined();
      expect(heard).toEqual([true]);
    } finally {
      await app.close();
    }
  });
  it('a checked report is drawn at once (showDetections) and nothing else; its commit does not draw it, nor an older one, again', async () => {
    const app = build(path.join(dir, 's'));
    try {
      const cam = sim.cameras[1]!;
      const added = (await app.call('fleet.add', { address: addr(1), username: cam.username, password: cam.password })) as { ok: true; value: { id: CameraId } };
      const id = added.value.id;
      const heard: number[] = [];
      app.fleet.subscribeMessages((m) => heard.push(m.envelope.seq));
      const report = (seq: number, ts: number, track: string) => ({
        kind: 'detections' as const,
        serial: cam.serial,
        envelope: { v: 2 as const, camera: cam.serial, epoch: 1, seq, sent: ts, kind: 'detections' as const, key: '0123456789abcdef', body: '', sig: '' },
        body: { frame: { timestamp: ts, observations: [{ bounding_box: { left: 0.1, top: 0.1, right: 0.2, bottom: 0.3 }, class: { type: 'Human' as const, score: 0.9 }, track_id: track, timestamp: ts }] } },
        receivedAt: ts,
        verified: true as const,
      });
      const drawn = async () => ((await app.call('fleet.detections', { id })) as { ok: true; value: { frameTs: number; observations: { trackId: string }[] } }).value;
      const before = app.fleet.status(id)!;
      const first = report(1, 1795000000000, 'a');
      const second = report(2, 1795000000100, 'b');
      app.fleet.showDetections(first);
      expect(await drawn()).toMatchObject({ frameTs: first.body.frame.timestamp, observations: [{ trackId: 'a' }] });
      expect(heard).toEqual([]); // shown only: nobody else hears of it before its commit
      expect(app.fleet.status(id)!.lastHeartbeat).toBe(before.lastHeartbeat);
      app.fleet.showDetections(second); // checked before the first one's commit answered
      app.fleet.onCameraMessage(first); // the first one's commit: bookkeeping, the newer boxes stay
      expect(await drawn()).toMatchObject({ frameTs: second.body.frame.timestamp, observations: [{ trackId: 'b' }] });
      app.fleet.onCameraMessage(second);
      expect(heard).toEqual([1, 2]);
      // Without showDetections (no early display wired), the commit draws as before.
      const third = report(3, 1795000000200, 'c');
      app.fleet.onCameraMessage(third);
      expect(await drawn()).toMatchObject({ frameTs: third.body.frame.timestamp, observations: [{ trackId: 'c' }] });
    } finally {
      await app.close();
    }
  });
});

describe('helper supervisor', () => {
  let sup: HelperSupervisor | undefined;
  afterAll(() => sup?.close());
  it('forks the TS helper, restarts it after it is killed, and answers again', async () => {
    sup = createHelperSupervisor({ launch: forkHelperFromSource, entry: path.join(__dirname, '../helper/main.ts'), log, backoffBaseMs: 50 });
    await sup.whenReady();
    const first = await sup.call({ op: 'ping' });
    expect(first.pid).toBe(sup.pid);
    process.kill(first.pid, 'SIGKILL');
    await until(() => sup!.restarts === 1 && sup!.ready, 10_000);
    const second = await sup.call({ op: 'ping' });
    expect(second.pid).not.toBe(first.pid);
    const bad = await sup.call({ op: 'probe', target: { host: '127.0.0.1', port: 1, username: 'a', password: 'b' }, requireAdmin: true }).catch((e: Error) => e);
    expect(bad).toMatchObject({ kind: 'refused' });
  });
});

describe('frame channel', () => {
  it('drops frames for a backed-up client instead of queueing, and frames carry channel, ts and size', () => {
    const mux = createFrameMux({ onChange: () => {} });
    const fast: Buffer[] = [];
    const slow: Buffer[] = [];
    let slowBuffered = 0;
    mux.attach('fast', { send: (d) => fast.push(d), bufferedAmount: () => 0, isOpen: () => true });
    mux.attach('slow', { send: (d) => (slow.push(d), (slowBuffered += d.length)), bufferedAmount: () => slowBuffered, isOpen: () => true });
    const [a] = mux.watch('fast', [parseCameraId('c1')], 64, 36, 10);
    mux.watch('slow', [parseCameraId('c1')], 64, 36, 10);
    expect(mux.wanted().size).toBe(1); // same size and rate share one camera stream
    const jpeg = new Uint8Array(400 * 1024).fill(1);
    for (let i = 0; i < 10; i++) mux.deliver('c1@64x36@10', { ts: 1000 + i, width: 64, height: 36, jpeg });
    expect(fast.length).toBe(10);
    expect(slow.length).toBe(3);
    expect(mux.stats('slow')).toEqual({ sent: 3, dropped: 7 });
    expect(decodeFrame(fast[9]!)).toMatchObject({ channel: a!.channel, ts: 1009, width: 64, height: 36 });
  });

  it('sends a camera\'s detections to every channel showing it, at any size, and to nobody else', () => {
    const mux = createFrameMux({ onChange: () => {} });
    const a: Buffer[] = [];
    const b: Buffer[] = [];
    mux.attach('a', { send: (d) => a.push(d), bufferedAmount: () => 0, isOpen: () => true });
    mux.attach('b', { send: (d) => b.push(d), bufferedAmount: () => 0, isOpen: () => true });
    const [small] = mux.watch('a', [parseCameraId('c1')], 320, 180, 10);
    const [big] = mux.watch('a', [parseCameraId('c1')], 1280, 720, 10);
    mux.watch('b', [parseCameraId('c2')], 320, 180, 10);
    expect(mux.watching(parseCameraId('c1'))).toBe(true);
    expect(mux.watching(parseCameraId('c3'))).toBe(false);
    const obs = [{ box: { left: 0.1, top: 0.2, right: 0.3, bottom: 0.4 }, cls: 'Human', score: 0.9, trackId: '7' }];
    mux.deliverDetections(parseCameraId('c1'), 1795222210400, { observations: obs, inferenceMs: 17 });
    expect(b).toHaveLength(0);
    expect(a.map((m) => [m[1], m.readUInt16BE(2), m.readDoubleBE(4)])).toEqual([
      [FRAME_KIND_DETECTIONS, small!.channel, 1795222210400],
      [FRAME_KIND_DETECTIONS, big!.channel, 1795222210400],
    ]);
    expect(decodeFrame(a[0]!)).toBeUndefined(); // not a JPEG frame
    expect(JSON.parse(a[0]!.subarray(16).toString('utf8'))).toEqual({ observations: obs, inferenceMs: 17 });
  });
});
