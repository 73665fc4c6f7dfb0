// The document, tested: a camera client written in Python from docs/protocol.md alone
// (scripts/conformance/python-camera/camera.py), run as a child process against the desktop's real
// swarm and federated service over the desktop's embedded MQTT broker (and Debian's mosquitto when
// installed). What a user relies on: its v2 and v3 reports are accepted with no refusal, forgeries
// are refused, and a secure fl2 round with it among other cameras gives the exact aggregate.
//
// Needs Debian's python3 with python3-paho-mqtt, python3-nacl and python3-cryptography; skips with
// the reason when they are missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../../main/audit';
import { linkFederated } from '../../../main/app/wiring-federated';
import { freePort } from '../../../main/camsim/testkit';
import { createFederatedService } from '../../../main/federated';
import { createTestClient, type SilentAfter, type TestClient } from '../../../main/federated/testkit';
import { createRng } from '../../../main/federated/random';
import { createEventBus } from '../../../main/kernel/bus';
import { silentLogger } from '../../../main/kernel/logger';
import type { SecretStore } from '../../../main/kernel/ports';
import { createMqttService, type BrokerConfig } from '../../../main/mqtt';
import { openDatabase } from '../../../main/store';
import { createSwarmService, keyIdOf, loadDesktopSessionKey, SESSION_KEY_TOPIC } from '../../../main/swarm';
import { sealEnvelope, simKey } from '../../../main/swarm/testkit';
import { memorySecrets, waitFor } from '../../../main/kernel/testkit';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const CLIENT = path.join(HERE, 'camera.py');
const DOCS = path.join(HERE, '..', '..', '..', 'docs');
// Debian's interpreter: the packages are Debian's (a pyenv or venv python on PATH would not see them).
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const probe = spawnSync(PYTHON, ['-c', 'import paho.mqtt.client, nacl.signing, cryptography.hazmat.primitives.ciphers.aead'], { encoding: 'utf8' });
const missing = probe.error ? `${PYTHON} not found` : probe.status !== 0 ? `python packages missing (apt-get install -y python3-paho-mqtt python3-nacl python3-cryptography): ${probe.stderr.trim().split('\n').at(-1)}` : null;
const MOSQUITTO = '/usr/sbin/mosquitto';
const PY_SERIAL = 'ACCC8E0000F1';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitForPort(port: number): Promise<void> {
  const end = Date.now() + 5_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await sleep(20);
  }
}

interface Seen {
  topic: string;
  camera: string;
  v: number;
  kind: string;
  result: string;
}

/** The desktop: its MQTT service (retained session key on connect), the swarm verifying every envelope, the federated server behind the composition root's link. */
async function desktop(config: BrokerConfig, secrets: SecretStore = memorySecrets()) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-pycam-'));
  const log = silentLogger();
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const audit = createAuditLog({ db, bus, now: Date.now });
  const sessionKey = loadDesktopSessionKey(secrets);
  const mqttSvc = createMqttService({ config: () => config, secrets: memorySecrets(), log });
  mqttSvc.retainOnConnect(SESSION_KEY_TOPIC, sessionKey.announcement());
  const swarm = createSwarmService({ db, bus, log, now: Date.now, audit, every: () => () => {}, sessionKey });
  const registered = new Set<string>();
  const federated = createFederatedService({
    db, bus, log, now: Date.now, seed: 'pycam',
    publish: (t, p) => mqttSvc.publish(t, p),
    cameras: () => [...registered],
    deadlines: { advertise: 3_000, shares: 3_000, masked: 3_000, unmask: 3_000 },
    minSamples: 20,
  });
  const seen: Seen[] = [];
  const offRaw = mqttSvc.onRaw((topic, payload, receivedAt) => {
    const [r] = swarm.ingestBatch([{ topic, payload, receivedAt }]);
    let env: { v?: number; kind?: string; camera?: string } = {};
    try {
      env = JSON.parse(payload.toString()) as typeof env;
    } catch {
      /* counted by the swarm */
    }
    seen.push({ topic, camera: env.camera ?? '?', v: env.v ?? 0, kind: env.kind ?? '?', result: r!.accepted ? 'ok' : r!.label });
  });
  const offLink = linkFederated({ swarm, federated, isRegistered: (s) => registered.has(s) });
  await mqttSvc.start();
  const register = (serial: string, publicKey: string): void => {
    swarm.registerCamera({ serial, keyId: keyIdOf(publicKey), publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
    registered.add(serial);
  };
  const call = async <T,>(m: string, input: unknown): Promise<T> => ((federated.handlers as Record<string, unknown>)[m] as (i: unknown, c: unknown) => T)(input, { transport: 'internal', peer: 'test' });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    offRaw();
    offLink();
    await federated.close();
    swarm.close();
    await mqttSvc.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  cleanups.push(stop);
  const ep = mqttSvc.endpoint()!;
  return { broker: `127.0.0.1:${ep.port}`, url: `mqtt://127.0.0.1:${ep.port}`, seen, register, call, federated, swarm, stop };
}

interface PyEvent {
  event: string;
  [k: string]: unknown;
}

/** The Python camera as a child process: JSON commands on stdin, JSON events on stdout. */
function pythonCamera(o: { broker: string; seed: string; samples: number }) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-pycam-data-'));
  const identity = JSON.parse(spawnSync(PYTHON, [CLIENT, 'identity', '--serial', PY_SERIAL, '--key-seed', o.seed], { encoding: 'utf8' }).stdout) as { camera: string; key: string; publicKey: string };
  let proc: ChildProcess | undefined;
  const events: PyEvent[] = [];
  let stderr = '';
  const start = (): void => {
    proc = spawn(PYTHON, [CLIENT, 'run', '--broker', o.broker, '--serial', PY_SERIAL, '--key-seed', o.seed, '--seed', o.seed, '--data-dir', dataDir, '--samples', String(o.samples)], { stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => events.push(JSON.parse(l) as PyEvent));
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  };
  const stop = async (): Promise<void> => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.stdin!.end('{"cmd":"quit"}\n');
      await Promise.race([exited, sleep(3_000)]);
      if (proc.exitCode === null) proc.kill();
    }
  };
  cleanups.push(async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    identity,
    events,
    start,
    stop,
    stderr: () => stderr,
    send: (cmd: object): void => void proc!.stdin!.write(`${JSON.stringify(cmd)}\n`),
    /** No `error` event: the client met nothing it could not handle. */
    errors: () => events.filter((e) => e.event === 'error' || e.event === 'ignored' || e.event === 'fl-silent'),
  };
}

describe.skipIf(missing !== null)(`the Python camera written from docs/protocol.md${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('computes every documented known answer (docs/fl1-vectors.json, docs/v3-vectors.json)', () => {
    const r = spawnSync(PYTHON, [CLIENT, 'selftest', '--vectors-dir', DOCS], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ event: 'selftest', ok: true });
  });

  const brokers: ('embedded' | 'mosquitto')[] = fs.existsSync(MOSQUITTO) ? ['embedded', 'mosquitto'] : ['embedded'];
  for (const broker of brokers) {
    it(`${broker} broker: its v2 and v3 reports are accepted with no refusal and labelled; forged ones are refused; restarts of the camera${broker === 'mosquitto' ? ' and of the desktop' : ''} are accepted`, async () => {
      let config: BrokerConfig = { mode: 'embedded', url: '', username: '' };
      if (broker === 'mosquitto') {
        const port = await freePort();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-pycam-mosq-'));
        fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
        const m = spawn(MOSQUITTO, ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
        cleanups.push(() => {
          m.kill();
          fs.rmSync(dir, { recursive: true, force: true });
        });
        await waitForPort(port);
        config = { mode: 'external', url: `mqtt://127.0.0.1:${port}`, username: '' };
      }
      const secrets = memorySecrets();
      let d = await desktop(config, secrets);
      const cam = pythonCamera({ broker: d.broker, seed: `reports-${broker}`, samples: 0 });
      d.register(cam.identity.camera, cam.identity.publicKey);
      cam.start();
      const mine = () => d.seen.filter((s) => s.camera === PY_SERIAL);
      const acked = () => cam.events.filter((e) => e.event === 'session-acked').length;
      await waitFor('the camera connected', () => cam.events.some((e) => e.event === 'ready'));
      // v2 reports, signed with Ed25519 (always accepted, also before a session).
      for (let i = 0; i < 3; i++) cam.send({ cmd: 'send', kind: 'detections', v: 2 });
      cam.send({ cmd: 'send', kind: 'heartbeat', v: 2 });
      // The desktop's retained key opens a session; after the broker acknowledged its announcement, v3.
      await waitFor('the session acknowledged', () => acked() === 1);
      for (let i = 0; i < 3; i++) cam.send({ cmd: 'send', kind: 'detections', v: 3 });
      cam.send({ cmd: 'send', kind: 'heartbeat', v: 3 });
      await waitFor('eight reports and the announcement', () => mine().length >= 9);
      expect(mine().filter((s) => s.result !== 'ok')).toEqual([]);
      expect(mine().filter((s) => s.kind === 'session').map((s) => [s.v, s.result])).toEqual([[2, 'ok']]);
      expect(mine().filter((s) => s.kind !== 'session').map((s) => `v${s.v} ${s.kind}`).sort()).toEqual(
        ['v2 detections', 'v2 detections', 'v2 detections', 'v2 heartbeat', 'v3 detections', 'v3 detections', 'v3 detections', 'v3 heartbeat'].sort(),
      );
      expect(d.swarm.acceptanceOf(PY_SERIAL)).toMatchObject({ accepted: 9, refused: 0, key: cam.identity.key, epoch: 1, version: '1.2.0' });
      expect(d.swarm.coordinator.verifier.sessionOf(PY_SERIAL)?.session).toBe(1);
      // The desktop labels every observation of its v2 and v3 detections (no zone covers it: "not
      // confirmed", at once), by the (epoch, seq, index) the camera kept.
      await waitFor('the outcomes of its 12 observations', () => cam.events.some((e) => e.event === 'labelled' && e.labelled === 12));

      // The 30 s repeat of the announcement (same S and e_pk, new seq) changes nothing.
      cam.send({ cmd: 'reannounce' });
      cam.send({ cmd: 'send', kind: 'detections', v: 3 });
      await waitFor('the repeat and a report', () => mine().length >= 11);
      expect(mine().slice(9).map((s) => [s.kind, s.v, s.result]).sort()).toEqual([['detections', 3, 'ok'], ['session', 2, 'ok']]);
      expect(d.swarm.coordinator.verifier.sessionOf(PY_SERIAL)?.session).toBe(1);

      // Forgeries: a body changed after signing, a bad MAC, an unrecorded key id.
      let before = mine().length;
      cam.send({ cmd: 'forge', what: 'sig' });
      cam.send({ cmd: 'forge', what: 'mac' });
      cam.send({ cmd: 'forge', what: 'key' });
      await waitFor('the forgeries', () => mine().length >= before + 3);
      expect(mine().slice(before).map((s) => s.result).sort()).toEqual(['bad mac', 'bad signature', 'unknown key']);
      expect(d.swarm.acceptanceOf(PY_SERIAL)).toMatchObject({ accepted: 11, refused: 3 });

      // The camera restarts: a new boot epoch from its local data, a new session, accepted at once.
      // It reports at once, choosing the version itself: v2 until the broker acknowledged its new
      // session's announcement, v3 from then on.
      await cam.stop();
      before = mine().length;
      const ready = cam.events.length;
      cam.start();
      await waitFor('the restarted camera connected', () => cam.events.slice(ready).some((e) => e.event === 'ready'));
      cam.send({ cmd: 'send', kind: 'heartbeat' });
      cam.send({ cmd: 'send', kind: 'detections' });
      await waitFor('the restarted camera’s session', () => acked() === 2);
      cam.send({ cmd: 'send', kind: 'detections' });
      await waitFor('its announcement and three reports', () => mine().length >= before + 4);
      // (The first two are v2 or v3 depending on how fast the acknowledgement came.)
      expect(mine().slice(before).map((s) => `${s.kind} ${s.result}`).sort()).toEqual(['detections ok', 'detections ok', 'heartbeat ok', 'session ok']);
      // (MQTT orders one topic only: the QoS 1 heartbeat may arrive after a later QoS 0 report.)
      expect(mine().filter((s) => s.kind === 'detections').at(-1)).toMatchObject({ v: 3 });
      expect(d.swarm.acceptanceOf(PY_SERIAL)).toMatchObject({ accepted: 15, refused: 3, epoch: 2 });
      expect(d.swarm.coordinator.verifier.sessionOf(PY_SERIAL)).toMatchObject({ epoch: 2, session: 1 });

      if (broker === 'mosquitto') {
        // The desktop restarts (same secret store): it re-publishes the same key, retained; the
        // camera opens a new session on it and its v3 reports are accepted by the new desktop.
        await d.stop();
        // The desktop that left cleared its retained key: the camera forgets it (v2 until a desktop is back).
        await waitFor('the cleared desktop key', () => cam.events.some((e) => e.event === 'desktop-key' && e.id === null));
        d = await desktop(config, secrets);
        d.register(cam.identity.camera, cam.identity.publicKey);
        await waitFor('a new session for the new desktop', () => acked() === 3);
        cam.send({ cmd: 'send', kind: 'detections', v: 3 });
        await waitFor('a report', () => mine().some((s) => s.kind === 'detections'));
        expect(mine().map((s) => [s.kind, s.v, s.result])).toEqual([['session', 2, 'ok'], ['detections', 3, 'ok']]);
        expect(d.swarm.coordinator.verifier.sessionOf(PY_SERIAL)).toMatchObject({ epoch: 2, session: 2 });
      }
      expect(cam.errors()).toEqual([]);
      expect(cam.stderr()).toBe('');
    }, 40_000);
  }

  it('a secure fl2 round with the Python camera among six others: completed, with the exact aggregate, through dropouts', async () => {
    const d = await desktop({ mode: 'embedded', url: '', username: '' });
    const cam = pythonCamera({ broker: d.broker, seed: 'fl2', samples: 200 });
    d.register(cam.identity.camera, cam.identity.publicKey);
    cam.start();
    await waitFor('the camera connected', () => cam.events.some((e) => e.event === 'ready'));
    // Six other cameras (the federated test client, its own fl2 implementation), signed envelopes v2.
    // One goes silent after its shares (dropped: the Python camera must send its key share), one
    // after its masked input (it never unmasks: the others' shares of its b must do).
    const others = Array.from({ length: 6 }, (_, i) => `ACCC8E0000${String(i + 10)}`);
    const silent: Record<string, SilentAfter> = { [others[1]!]: 'shares', [others[4]!]: 'masked' };
    const clients = new Map<string, TestClient>();
    const rng = createRng('pycam-others');
    for (const [i, serial] of others.entries()) {
      const key = simKey(serial);
      d.register(serial, key.publicKey);
      const conn = await mqtt.connectAsync(d.url, { reconnectPeriod: 0 });
      cleanups.push(() => conn.endAsync(true));
      let seq = 0;
      const client = createTestClient({
        serial,
        rng: rng.fork(serial),
        silentAfter: silent[serial],
        train: (g) => Float32Array.from(g, (v, k) => v + ((i + 1) * (k - 6)) / 300),
        send: (body) => {
          const env = sealEnvelope({ camera: serial, epoch: 1, seq: ++seq, sent: Date.now(), kind: 'fl', key: key.keyId, body }, key.privateKey);
          conn.publish(`axis/${serial}/omnisight/fl`, env, { qos: 1 });
        },
      });
      clients.set(serial, client);
      conn.on('message', (topic, payload) => client.onMessage(topic, payload.toString('utf8')));
      await conn.subscribeAsync(['omnisight/desktop/fl/announce', 'omnisight/desktop/fl/+/roster', `omnisight/desktop/fl/+/deliver/${serial}`, 'omnisight/desktop/fl/+/go', 'omnisight/desktop/fl/+/unmask', 'omnisight/desktop/fl/+/result'], { qos: 1 });
    }
    await d.call('federated.config.set', { clientsPerRound: 7 });
    // The setup runs ahead (announce, advertise, roster, shares, deliver); the round starts later
    // and runs only its critical path (go, masked, unmask, result).
    await d.federated.prepare();
    expect((await d.call<{ setup: { state: string } }>('federated.status', {})).setup.state).toBe('ready');
    // (The server's setup is complete once every deliver is published; the camera opens its boxes then.)
    await waitFor('the Python camera set up', () => cam.events.some((e) => e.phase === 'set-up'));
    expect(cam.events.filter((e) => e.event === 'fl').map((e) => e.phase)).toEqual(['advertise', 'shares', 'set-up']);
    await d.call('federated.start', { rounds: 1 });
    await d.federated.idle();

    const [round] = (await d.call<{ rounds: { status: string; reason: string | null; participants: string[]; dropped: string[]; modelVersion: number | null; detail: { refused: unknown[]; unmasked: string[] } }[] }>('federated.rounds', { limit: 1 })).rounds;
    expect(round!.reason).toBeNull();
    expect(round).toMatchObject({ status: 'completed', dropped: [others[1]] });
    expect(round!.detail.refused).toEqual([]);
    const survivors = [...others.filter((s) => s !== others[1]), PY_SERIAL].sort();
    expect(round!.participants).toEqual(survivors);
    expect(round!.detail.unmasked).toContain(PY_SERIAL);

    // The Python camera masked its own update; it says which (q), the test clients keep theirs.
    const pyQ = cam.events.find((e) => e.event === 'fl-q')!.q as number[];
    expect(pyQ).toHaveLength(14);
    expect(pyQ.some((v) => v !== 0)).toBe(true); // it trained on its own samples
    const sum = Array.from({ length: 14 }, (_, k) => survivors.reduce((a, s) => (a + (s === PY_SERIAL ? pyQ[k]! : clients.get(s)!.lastQ()![k]!)) | 0, 0));
    const model = await d.call<{ parameters: string }>('federated.model', { version: round!.modelVersion, withParameters: true });
    const params = new Float32Array(Uint8Array.from(Buffer.from(model.parameters, 'base64')).buffer);
    const scale = Math.floor((2 ** 31 - 1) / (4 * 7));
    const v0 = [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2];
    // Exactly: the server stores float32(θ0 + Σq/s/|U3|), computed in binary64 as the page says.
    const expected = Array.from({ length: 14 }, (_, k) => Math.fround(v0[k]! + sum[k]! / scale / survivors.length));
    expect(Array.from(params)).toEqual(expected);
    // The comparison is fine enough to see one quantum more or less in every coordinate (checked:
    // a Python camera adding 1 to its q fails this test).
    const off = (d: number) => Array.from({ length: 14 }, (_, k) => Math.fround(v0[k]! + (sum[k]! + d) / scale / survivors.length));
    expect(off(1)).not.toEqual(expected);
    expect(off(-1)).not.toEqual(expected);

    // It took every phase, sent the key share of the dropped camera, adopted the result, and met nothing it refused.
    expect(cam.events.filter((e) => e.event === 'fl').map((e) => e.phase)).toEqual(['advertise', 'shares', 'set-up', 'masked', 'unmask']);
    // n' = 7 ≤ K + 1: every other camera is a neighbour. Six boxes out; five back (the dropped
    // camera's box too: it sent its shares); b shares for the five survivors it holds one of and
    // itself, the s share of the dropped one.
    expect(cam.events.find((e) => e.phase === 'shares')).toMatchObject({ boxes: 6 });
    expect(cam.events.find((e) => e.phase === 'unmask')).toMatchObject({ selfShares: 6, keyShares: 1 });
    const flAccepted = d.seen.filter((s) => s.camera === PY_SERIAL && s.kind === 'fl');
    expect(flAccepted.map((s) => s.result)).toEqual(['ok', 'ok', 'ok', 'ok']);
    await waitFor('the result at the camera', () => cam.events.some((e) => e.event === 'result'));
    expect(cam.events.find((e) => e.event === 'result')).toMatchObject({ ok: true, version: round!.modelVersion, survivors: survivors.length });
    // Its heartbeat reports the adopted head and its metric on the camera's held-out samples.
    cam.send({ cmd: 'send', kind: 'heartbeat', v: 2 });
    let m = { metricCameras: 0, metricSamples: 0 };
    await waitFor('the head metric', () => {
      void d.call<typeof m>('federated.model', { version: round!.modelVersion, withParameters: false }).then((x) => (m = x));
      return m.metricCameras === 1;
    });
    expect(m.metricSamples).toBeGreaterThan(20);
    expect(cam.errors()).toEqual([]);
    expect(d.swarm.acceptanceOf(PY_SERIAL).refused).toBe(0);
  }, 40_000);

  it('with too few labelled samples it declines, and the round completes with the others', async () => {
    const d = await desktop({ mode: 'embedded', url: '', username: '' });
    const cam = pythonCamera({ broker: d.broker, seed: 'fl2-decline', samples: 5 });
    d.register(cam.identity.camera, cam.identity.publicKey);
    cam.start();
    await waitFor('the camera connected', () => cam.events.some((e) => e.event === 'ready'));
    const others = Array.from({ length: 3 }, (_, i) => `ACCC8E0000${String(i + 20)}`);
    const rng = createRng('pycam-decline');
    for (const [i, serial] of others.entries()) {
      const key = simKey(serial);
      d.register(serial, key.publicKey);
      const conn = await mqtt.connectAsync(d.url, { reconnectPeriod: 0 });
      cleanups.push(() => conn.endAsync(true));
      let seq = 0;
      const client = createTestClient({
        serial,
        rng: rng.fork(serial),
        train: (g) => Float32Array.from(g, (v, k) => v + ((i + 1) * (k - 6)) / 300),
        send: (body) => conn.publish(`axis/${serial}/omnisight/fl`, sealEnvelope({ camera: serial, epoch: 1, seq: ++seq, sent: Date.now(), kind: 'fl', key: key.keyId, body }, key.privateKey), { qos: 1 }),
      });
      conn.on('message', (topic, payload) => client.onMessage(topic, payload.toString('utf8')));
      await conn.subscribeAsync('omnisight/desktop/fl/#', { qos: 1 });
    }
    await d.call('federated.config.set', { clientsPerRound: 4 });
    await d.call('federated.start', { rounds: 1 });
    await d.federated.idle();
    const [round] = (await d.call<{ rounds: { status: string; participants: string[]; detail: { refused: unknown[]; declined: { serial: string; reason: string }[] } }[] }>('federated.rounds', { limit: 1 })).rounds;
    expect(round).toMatchObject({ status: 'completed', participants: others });
    expect(round!.detail.refused).toEqual([]);
    expect(round!.detail.declined).toEqual([expect.objectContaining({ serial: PY_SERIAL, reason: expect.stringMatching(/only \d labelled training samples/) })]);
    expect(cam.events.filter((e) => e.event === 'fl').map((e) => e.phase)).toEqual(['decline']);
    expect(cam.errors()).toEqual([]);
  }, 30_000);
});
