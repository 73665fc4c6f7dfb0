// The promise of the identity lifecycle, end to end: the C app (the camera package, under qemu)
// deployed onto a simulated camera keeps the identity the installed app had, and across an app
// restart, a camera restart and a desktop restart the coordinator (main/swarm, with its replay
// state in SQLite) keeps accepting its signed reports, while a replayed old message is refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { createEventBus } from '../kernel/bus';
import { startEmbeddedBroker, type EmbeddedBroker } from '../mqtt';
import { openDatabase } from '../store';
import * as swarmModule from '../swarm';
import { findEmulator, startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl, sleep } from './testkit';

interface Acceptance { serial: string; key?: string; epoch?: number; version?: string; accepted: number; refused: number; lastRefusal?: { reason: string; at: number } }
interface SwarmLike {
  ingest(message: unknown, receivedAt: number, topic?: string): { accepted: boolean; reason?: string };
  acceptanceOf?(serial: string): Acceptance;
  registerCamera(cam: { serial: string; keyId: string; publicKey: string; coverage: { zones: string[]; toGround: (b: unknown) => { x: number; y: number } } }): void;
  close(): void;
}
// Typed loosely on purpose: the coordinator's acceptance API (SHARED-SPECS.md) arrives with the
// swarm engineer's work; until main has it this suite skips and says so.
const createSwarm = (swarmModule as unknown as { createSwarmService: (deps: unknown) => SwarmLike }).createSwarmService;

const toolchain = fs.existsSync('/usr/bin/aarch64-linux-gnu-gcc') && fs.existsSync('/usr/lib/aarch64-linux-gnu/libsodium.so') && fs.existsSync('/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1');
const canRun = !!findEmulator() && toolchain;

describe.skipIf(!canRun)('identity across restarts, checked by the coordinator', () => {
  let broker: EmbeddedBroker;
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let auth: { user: string; pass: string };
  let sub: MqttClient;
  let dir: string;
  let swarm: SwarmLike | undefined;
  let closeDb: () => void = () => undefined;
  let enrolled: { key: string; publicKey: string; epoch: number; version: string };
  // `at`: when it arrived, so a replay can be presented inside the clock-skew window (as a fast
  // attacker would), where only the replay rule can refuse it.
  const seen: { topic: string; payload: Buffer; epoch: number; seq: number; version?: string; at: number }[] = [];
  const results: { accepted: boolean; reason?: string }[] = [];

  const control = async (action: string): Promise<string> => (await curl(`${cam.url}/axis-cgi/applications/control.cgi?action=${action}&package=omnisight`, auth)).body.toString();
  const identity = async (): Promise<{ key: string; publicKey: string; epoch: number; version: string }> => JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, auth)).body.toString());
  const waitFor = async (what: string, cond: () => boolean, ms = 20_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; refusals: ${JSON.stringify(results.filter((r) => !r.accepted).slice(-3))}`);
      await sleep(100);
    }
  };
  /** Opens the coordinator on the data folder (a desktop start) and enrols the key read from identity.cgi. */
  const openSwarm = async (): Promise<SwarmLike> => {
    const now = Date.now;
    const { db } = openDatabase({ dir: path.join(dir, 'desktop'), now });
    const bus = createEventBus();
    const s = createSwarm({ db, bus, log: pino({ level: 'silent' }), now, audit: createAuditLog({ db, bus, now }), zones: [], every: () => () => undefined });
    const id = await identity();
    enrolled = id;
    s.registerCamera({ serial: cam.serial, keyId: id.key, publicKey: id.publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
    closeDb = () => {
      s.close();
      db.close();
    };
    return s;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-identity-'));
    const { buildNativeApp } = await import('../packaging');
    const built = await buildNativeApp({ nativeDir: path.resolve(__dirname, '../../native'), outDir: path.join(dir, 'dist'), version: '1.0.0' });
    broker = await startEmbeddedBroker();
    fleet = await startSimulatedFleet({ cameras: 1, seed: 11, dataDir: path.join(dir, 'cameras') });
    cam = fleet.cameras[0]!;
    auth = { user: cam.username, pass: cam.password };
    await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { ...auth, data: JSON.stringify({ apiVersion: '1.0', method: 'configureClient', params: { server: { protocol: 'tcp', host: '127.0.0.1', port: broker.port } } }) });
    await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { ...auth, data: JSON.stringify({ apiVersion: '1.0', method: 'activateClient' }) });
    // The user chose to allow unsigned packages on this camera (AXIS OS 12 refuses them by default).
    await curl(`${cam.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true`, auth);
    sub = mqtt.connect(broker.url);
    await new Promise<void>((r) => sub.on('connect', () => r()));
    await sub.subscribeAsync(`axis/${cam.serial}/omnisight/+`, { qos: 1 });
    sub.on('message', (topic, payload) => {
      const env = JSON.parse(payload.toString()) as { epoch: number; seq: number; kind: string; body: string };
      const at = Date.now();
      seen.push({ topic, payload, epoch: env.epoch, seq: env.seq, version: env.kind === 'heartbeat' ? (JSON.parse(env.body) as { version: string }).version : undefined, at });
      if (swarm) results.push(swarm.ingest(payload, at, topic));
    });
    swarm = await openSwarm();
    if (typeof swarm.acceptanceOf !== 'function') console.warn('identity-swarm: skipped: the coordinator has no acceptanceOf yet (SHARED-SPECS.md, swarm engineer)');
    const p = path.join(dir, 'app.eap');
    fs.copyFileSync(built.path, p);
    expect((await curl(`${cam.url}/axis-cgi/applications/upload.cgi`, { ...auth, form: [`file=@${p}`] })).body.toString()).toBe('OK\n');
  }, 120_000);

  afterAll(async () => {
    sub?.end(true);
    closeDb();
    await fleet?.stop();
    await broker?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the deployed C app signs under the enrolled key and is accepted; restarts of app and camera stay accepted', async (ctx) => {
    if (typeof swarm?.acceptanceOf !== 'function') return ctx.skip();
    // `enrolled` is the preinstalled app's identity, read before the upload (the new version is not running yet).
    const before = enrolled;
    expect(await control('start')).toBe('OK\n');
    await waitFor('a heartbeat from 1.0.0 accepted', () => swarm!.acceptanceOf!(cam.serial).version === '1.0.0');
    const a1 = swarm!.acceptanceOf!(cam.serial);
    expect(a1).toMatchObject({ key: before.key, refused: 0 });
    expect(a1.epoch).toBeGreaterThan(before.epoch);

    expect(await control('restart')).toBe('OK\n');
    await waitFor('the next epoch accepted', () => (swarm!.acceptanceOf!(cam.serial).epoch ?? 0) > a1.epoch!);
    await fleet.faults(cam.id).crash();
    await fleet.faults(cam.id).restart();
    // The version comes with the epoch's first heartbeat, which may follow its first detections:
    // wait for what is asserted, not only for the epoch.
    await waitFor('the epoch after the camera restart accepted, with its heartbeat', () => {
      const a = swarm!.acceptanceOf!(cam.serial);
      return (a.epoch ?? 0) > a1.epoch! + 1 && a.version === '1.0.0';
    });
    const a3 = swarm!.acceptanceOf!(cam.serial);
    expect(a3).toMatchObject({ key: before.key, version: '1.0.0', refused: 0 });
    expect(a3.accepted).toBeGreaterThan(a1.accepted);
    // Every epoch began at seq 1.
    for (const e of new Set(seen.map((m) => m.epoch))) if (e > before.epoch) expect(Math.min(...seen.filter((m) => m.epoch === e).map((m) => m.seq))).toBe(1);
  }, 90_000);

  it('refuses a replayed old message, also after a desktop restart, while fresh reports keep being accepted', async (ctx) => {
    if (typeof swarm?.acceptanceOf !== 'function') return ctx.skip();
    const old = seen.find((m) => m.epoch < (swarm!.acceptanceOf!(cam.serial).epoch ?? 0))!;
    // Replayed at the time it first arrived: fresh by the clock, so the replay rule must refuse it
    // (replayed now, on a loaded machine it may be older than the skew window and refused for that).
    expect(swarm!.ingest(old.payload, old.at, old.topic)).toMatchObject({ accepted: false, reason: expect.stringMatching(/replay/) });
    expect(swarm!.acceptanceOf!(cam.serial).lastRefusal?.reason).toMatch(/replay/);
    // Desktop restart: the coordinator reopens its database; the replay state came with it.
    const recent = seen.at(-1)!;
    const before = seen.length;
    const s = swarm!;
    swarm = undefined;
    closeDb();
    swarm = await openSwarm();
    expect(swarm.ingest(recent.payload, recent.at, recent.topic)).toMatchObject({ accepted: false, reason: expect.stringMatching(/replay/) });
    expect(swarm.ingest(old.payload, old.at, old.topic)).toMatchObject({ accepted: false, reason: expect.stringMatching(/replay/) });
    void s;
    await waitFor('fresh reports accepted after the desktop restart', () => seen.length > before + 3 && (swarm!.acceptanceOf!(cam.serial).accepted ?? 0) >= 3);
    expect(results.slice(-3).every((r) => r.accepted)).toBe(true);
  }, 60_000);
});
