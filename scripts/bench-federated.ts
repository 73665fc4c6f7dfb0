// bench:federated — fl1 with the cameras as clients. 100 simulated cameras (default) in several
// camera processes (scripts/bench-federated-camera.ts, the simulator's own fl1 client), each with
// its own MQTT connection, key and local data, against the desktop's real path: the embedded broker,
// the swarm's verification of every signed message, the federated service.
//  - secure round time (fl1: keys, share boxes, masked inputs, unmasking) vs a plain FedAvg round
//    over the same broker and processes (each camera trains the same way and sends its parameters
//    in the clear, signed; the desktop verifies and averages), medians of alternating pairs;
//  - accuracy of the federated head vs centralised training on the same cameras' pooled data,
//    rounds run until the held-out accuracy settles (or BENCH_FED_ROUNDS).
// Writes bench-results/federated.json. Env: BENCH_FED_CLIENTS (100), BENCH_FED_PROCS (4),
// BENCH_FED_PAIRS (3), BENCH_FED_ROUNDS (max rounds for accuracy, 40), BENCH_FED_SAMPLES (per camera, 150).
import { fork, type ChildProcess } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { createAuditLog } from '../main/audit';
import { evaluate, train, type Sample } from '../main/camsim/fl/head';
import { createFederatedService } from '../main/federated';
import { createEventBus } from '../main/kernel/bus';
import { silentLogger } from '../main/kernel/logger';
import { createMqttService } from '../main/mqtt';
import { openDatabase } from '../main/store';
import { createSwarmService, keyIdOf } from '../main/swarm';
import { simKey } from '../main/swarm/testkit';
import { linkFederated } from '../main/app/wiring-federated';
import { cameraData } from './bench-federated-data';

const CLIENTS = Number(process.env.BENCH_FED_CLIENTS ?? 100);
const PROCS = Number(process.env.BENCH_FED_PROCS ?? 4);
const PAIRS = Number(process.env.BENCH_FED_PAIRS ?? 3);
const MAX_ROUNDS = Number(process.env.BENCH_FED_ROUNDS ?? 40);
const SAMPLES = Number(process.env.BENCH_FED_SAMPLES ?? 150);
// BENCH_FED_CPU_PROF=<dir>: the camera processes write V8 CPU profiles there (run the desktop side
// with `node --cpu-prof --import tsx` for its own).
const PROF_ARGS = process.env.BENCH_FED_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_FED_CPU_PROF}`] : [];
const TRAIN = { epochs: 2, lr: 0.3, batchSize: 16 };
const v0 = [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2];

const serials = Array.from({ length: CLIENTS }, (_, i) => `ACCC8E${(0x100000 + i).toString(16).toUpperCase()}`);
const data = serials.map((_, i) => cameraData(i, SAMPLES));
const heldOut: Sample[] = data.flatMap((d) => d.heldOut);
const pooled: Sample[] = data.flatMap((d) => d.train);

async function main(): Promise<void> {
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-bench-fed-'));
const log = silentLogger();
const { db } = openDatabase({ dir });
const bus = createEventBus();
const audit = createAuditLog({ db, bus, now: Date.now });
const mqttSvc = createMqttService({ config: () => ({ mode: 'embedded', url: '', username: '' }), secrets: { protection: 'file-key', get: () => undefined, set: () => {}, delete: () => {} }, log });
await mqttSvc.start();
const url = `mqtt://${mqttSvc.endpoint()!.host}:${mqttSvc.endpoint()!.port}`;
const swarm = createSwarmService({ db, bus, log, now: Date.now, audit, every: () => () => {} });
const federated = createFederatedService({
  db, bus, log, now: Date.now,
  publish: (t, p) => mqttSvc.publish(t, p),
  cameras: () => serials,
  // Generous: every camera answers, so a round ends as soon as the last one does; the deadline only
  // keeps a busy machine's slow cameras from being counted as dropouts.
  deadlines: { advertise: 600_000, shares: 600_000, masked: 600_000, unmask: 600_000 },
  minSamples: 20,
});
// Batched like the app's swarm link (main/app/wiring-swarm.ts): one replay-state write per drain, not
// per message, and at least COMMIT_SPACING_MS between two commits (each is an fsync) so that
// messages arriving meanwhile join the next one (group commit).
const COMMIT_SPACING_MS = 10;
let batch: { topic: string; payload: Buffer; receivedAt: number }[] = [];
let lastCommit = -Infinity;
const drain = (): void => {
  const b = batch;
  batch = [];
  swarm.ingestBatch(b);
  lastCommit = performance.now();
};
mqttSvc.onRaw((topic, payload, receivedAt) => {
  if (!batch.length) {
    const wait = lastCommit + COMMIT_SPACING_MS - performance.now();
    if (wait > 0) setTimeout(drain, wait);
    else setImmediate(drain);
  }
  batch.push({ topic, payload, receivedAt });
});
linkFederated({ swarm, federated, isRegistered: () => true });
for (const s of serials) swarm.registerCamera({ serial: s, keyId: keyIdOf(simKey(s).publicKey), publicKey: simKey(s).publicKey, coverage: { zones: [], toGround: () => ({ x: 0, y: 0 }) } });
const call = async <T,>(m: string, input: unknown): Promise<T> => ((federated.handlers as Record<string, unknown>)[m] as (i: unknown, c: unknown) => T)(input, { transport: 'internal', peer: 'bench' });
await call('federated.config.set', { clientsPerRound: CLIENTS, localEpochs: TRAIN.epochs, learningRate: TRAIN.lr, batchSize: TRAIN.batchSize });

// Camera processes.
const children: ChildProcess[] = [];
const perProc = Math.ceil(CLIENTS / PROCS);
await Promise.all(
  Array.from({ length: PROCS }, (_, p) => {
    const cams = serials.slice(p * perProc, (p + 1) * perProc).map((serial) => ({ serial, index: serials.indexOf(serial) }));
    if (!cams.length) return Promise.resolve();
    const child = fork(path.join(import.meta.dirname, 'bench-federated-camera.ts'), [], { execArgv: ['--import', 'tsx', ...PROF_ARGS], stdio: 'inherit' });
    children.push(child);
    return new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`camera process exited with ${code}`)));
      child.send({ url, cameras: cams, samples: SAMPLES });
    });
  }),
);
console.error(`${CLIENTS} cameras in ${children.length} processes, ${SAMPLES} detections each (80 % for training)`);

// CPU time (user + system, seconds): the desktop process's own (broker, swarm verification and the
// federated service all run in it), and the camera processes' summed. On one machine all cameras
// share its cores, so wall time overstates a real fleet; CPU per camera is the per-device figure.
const cpuOf = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
const camerasCpu = async (): Promise<number> =>
  (
    await Promise.all(
      children.map(
        (c) =>
          new Promise<number>((resolve) => {
            const on = (m: { cpu?: NodeJS.CpuUsage }): void => {
              if (!m.cpu) return;
              c.off('message', on);
              resolve(cpuOf(m.cpu));
            };
            c.on('message', on);
            c.send({ cpu: true });
          }),
      ),
    )
  ).reduce((a, b) => a + b, 0);
const cpu = { plain: { desktop: [] as number[], cameras: [] as number[] }, secure: { desktop: [] as number[], cameras: [] as number[] } };
async function withCpu(kind: 'plain' | 'secure', fn: () => Promise<number>): Promise<number> {
  const d0 = process.cpuUsage();
  const c0 = await camerasCpu();
  const t = await fn();
  cpu[kind].desktop.push(cpuOf(process.cpuUsage(d0)));
  cpu[kind].cameras.push(((await camerasCpu()) - c0) / CLIENTS);
  return t;
}

// Plain FedAvg over the same broker: signed parameters in the clear, verified and averaged here.
const pubKeys = new Map(serials.map((s) => [s, createPublicKey(simKey(s).privateKey)]));
const plainConn = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
await plainConn.subscribeAsync('bench/plain/+', { qos: 1 });
let plainRound: { id: string; got: Map<string, number[]>; done: () => void } | undefined;
plainConn.on('message', (_t, payload) => {
  const m = JSON.parse(payload.toString()) as { body: string; sig: string };
  const body = JSON.parse(m.body) as { round: string; camera: string; params: number[] };
  const key = pubKeys.get(body.camera);
  if (!plainRound || body.round !== plainRound.id || !key || !verify(null, Buffer.from(m.body), key, Buffer.from(m.sig, 'base64'))) return;
  plainRound.got.set(body.camera, body.params);
  if (plainRound.got.size === CLIENTS) plainRound.done();
});
let plainSeq = 0;
async function timePlain(): Promise<number> {
  const t0 = performance.now();
  const id = `plain-${++plainSeq}`;
  const got = new Map<string, number[]>();
  await new Promise<void>((resolve) => {
    plainRound = { id, got, done: resolve };
    mqttSvc.publish('omnisight/desktop/bench/plain', JSON.stringify({ round: id, params: v0, train: TRAIN }));
  });
  // FedAvg, every camera weighted equally (as fl1's result); part of the timed round.
  const mean = v0.map((_, k) => [...got.values()].reduce((a, p) => a + p[k]!, 0) / got.size);
  if (!mean.every(Number.isFinite)) throw new Error('plain round gave a non-finite model');
  return (performance.now() - t0) / 1000;
}
/** Per timed secure round: how long each phase took (from the announce to the last answer of each). */
const phaseMs: Record<string, number>[] = [];
async function timeSecure(): Promise<number> {
  await call('federated.reset', {}); // every timed round starts from v0, like the plain one
  const t0 = performance.now();
  await call('federated.start', { rounds: 1 });
  await federated.idle();
  const t = (performance.now() - t0) / 1000;
  const [r] = (await call<{ rounds: { status: string; reason: string | null; detail: { phaseMs: Record<string, number> } | null }[] }>('federated.rounds', { limit: 1 })).rounds;
  if (r!.status !== 'completed') throw new Error(`secure round did not complete: ${r!.reason}`);
  phaseMs.push(r!.detail?.phaseMs ?? {});
  return t;
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const loadBefore = os.loadavg()[0]!;
await timePlain(); // warm-up
await timeSecure();
const plain: number[] = [];
const secure: number[] = [];
for (let i = 0; i < PAIRS; i++) {
  if (i % 2 === 0) {
    plain.push(await withCpu('plain', timePlain));
    secure.push(await withCpu('secure', timeSecure));
  } else {
    secure.push(await withCpu('secure', timeSecure));
    plain.push(await withCpu('plain', timePlain));
  }
  console.error(`pair ${i + 1}/${PAIRS}: plain ${plain.at(-1)!.toFixed(2)} s, secure ${secure.at(-1)!.toFixed(2)} s; desktop CPU plain ${cpu.plain.desktop.at(-1)!.toFixed(2)} s, secure ${cpu.secure.desktop.at(-1)!.toFixed(2)} s; camera CPU per camera plain ${(cpu.plain.cameras.at(-1)! * 1000).toFixed(1)} ms, secure ${(cpu.secure.cameras.at(-1)! * 1000).toFixed(1)} ms`);
}
const loadAfter = os.loadavg()[0]!;

// Accuracy: secure rounds from v0 until the held-out accuracy settles.
await call('federated.reset', {});
const history: number[] = [];
let rounds = 0;
let settled = false;
for (; rounds < MAX_ROUNDS && !settled; ) {
  await call('federated.start', { rounds: 1 });
  await federated.idle();
  rounds++;
  const [m] = (await call<{ models: { version: number }[] }>('federated.models', { limit: 1 })).models;
  const p = await call<{ parameters: string }>('federated.model', { version: m!.version, withParameters: true });
  const params = Array.from(new Float32Array(Uint8Array.from(Buffer.from(p.parameters, 'base64')).buffer));
  history.push(evaluate(params, heldOut, 0.05).accuracy);
  console.error(`accuracy run: round ${rounds} ${(history.at(-1)! * 100).toFixed(2)}%`);
  // Settled: the last five rounds within 0.2 points of each other.
  settled = history.length >= 5 && Math.max(...history.slice(-5)) - Math.min(...history.slice(-5)) < 0.002;
}
const fedAccuracy = history.at(-1)!;
// Centralised on the same data: the same SGD for as many epochs as the federation's local epochs add up to, and to convergence.
const centralSame = evaluate(train(v0, pooled, { ...TRAIN, epochs: rounds * TRAIN.epochs, seed: 1 }), heldOut, 0.05).accuracy;
const centralLong = evaluate(train(v0, pooled, { ...TRAIN, epochs: 200, seed: 1 }), heldOut, 0.05).accuracy;

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const ratio = median(secure.map((s, i) => s / plain[i]!));
const result = {
  clients: CLIENTS,
  camera_processes: children.length,
  params: 14,
  secure_round_s: r4(median(secure)),
  plain_round_s: r4(median(plain)),
  ratio: r4(ratio),
  accuracy: r4(fedAccuracy),
  central_accuracy: r4(centralSame),
  central_accuracy_converged: r4(centralLong),
  secure_phase_ms: phaseMs.at(-1),
  // Medians over the timed pairs, CPU seconds per round.
  desktop_cpu_s: { secure: r4(median(cpu.secure.desktop)), plain: r4(median(cpu.plain.desktop)) },
  camera_cpu_per_camera_s: { secure: r4(median(cpu.secure.cameras)), plain: r4(median(cpu.plain.cameras)) },
  rounds,
  settled,
  accuracy_by_round: history.map(r4),
  notes:
    `fl1 secure rounds (full masking graph, quorum ${Math.ceil((2 * CLIENTS) / 3)}) through the embedded broker, swarm verification (batched, one replay-state write per drain as in the app) and the federated service; ` +
    `plain = every camera sends its trained parameters signed in the clear and the desktop verifies and averages them, same broker, processes and training (${TRAIN.epochs} local epochs, lr ${TRAIN.lr}, batch ${TRAIN.batchSize}); ` +
    `round times are medians of ${PAIRS} alternating pairs after a warm-up of each, ratio = median of per-pair ratios; ` +
    `accuracy at 0.5 on the ${heldOut.length} pooled held-out detections after ${rounds} secure rounds (${settled ? 'settled: last five within 0.2 points' : 'stopped at BENCH_FED_ROUNDS before settling'}); ` +
    `centralised = the same SGD on the ${pooled.length} pooled training detections for ${rounds * TRAIN.epochs} epochs (and 200 epochs: converged); ` +
    `CPU: desktop_cpu_s = the desktop process's CPU per round (broker, verification, server), camera_cpu_per_camera_s = the camera processes' CPU per round divided by the cameras; ` +
    `load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after the timing, on ${os.cpus().length} cores`,
};
fs.mkdirSync('bench-results', { recursive: true });
fs.writeFileSync(path.join('bench-results', 'federated.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));

for (const c of children) c.kill();
await plainConn.endAsync(true);
await federated.close();
swarm.close();
await mqttSvc.close();
db.close();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
