// npm run bench:detections — camera detections through the desktop's whole path, at fleet scale:
// 1,000 cameras × 10 Hz by default (BENCH_CAMERAS, BENCH_RATE_HZ, BENCH_SECONDS, BENCH_WORKERS).
// Writes bench-results/detections.json.
//
// The path measured, as in the app: the embedded MQTT broker and main's subscriber (main/mqtt) →
// a bounded ingest queue → verification in worker threads (main/swarm/verify-pool: parse + Ed25519,
// batches of up to BATCH messages) → the swarm's stateful checks (recorded key, clock, replay
// window in SQLite, one transaction per batch) → fusion (f+1 per zone) → the timeline (tracking on
// the ground plane, through the swarm's verified-detections listener). The publishers run in a
// child process, one MQTT connection and one Ed25519 key per camera, signing envelope v2 exactly as
// docs/protocol.md describes (built here from the document, not from the simulator's code); they
// sign every message before the run (so their CPU does not compete while publishing) with `sent` =
// the time it is due, and report the time each one was actually published.
//
// Latency = the moment the swarm has fused the report and handed it to the timeline − the moment
// the publisher published it (both from this machine's clock, high resolution). Share handled =
// detections fused / detections published after the warm-up.
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { parseCameraId, type CameraId } from '../preload/contract/camera-id';
import { createAuditLog } from '../main/audit';
import { createEventBus } from '../main/kernel/bus';
import { silentLogger } from '../main/kernel/logger';
import { mulberry32 } from '../main/kernel/random';
import { createMqttService } from '../main/mqtt';
import { openDatabase } from '../main/store';
import { createSwarmService, createVerifyPool, type CheckedMessage, type ZoneConfig } from '../main/swarm';
import { createTimelineService } from '../main/timeline';

const CAMERAS = Number(process.env.BENCH_CAMERAS ?? 1000);
const RATE_HZ = Number(process.env.BENCH_RATE_HZ ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? Math.max(1, os.availableParallelism() - 1));
/** Connections, JIT and the broker's first subscriptions settle here; not measured. */
const WARMUP_S = 2;
/** Messages per worker batch: one postMessage each way per batch. */
const BATCH = 200;
const QUEUE_LIMIT = 50_000;
/** How long a partial batch waits for more messages before it goes to a worker. */
const BATCH_WAIT_MS = 5;
const PER_ZONE = 5;
const ZONE_M = 10;
const CLASSES = ['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other'] as const;
const root = path.resolve(__dirname, '..');
const nowHr = (): number => performance.timeOrigin + performance.now();

type CamKey = { serial: string; zone: number; publicKey: string; keyId: string };
type ToParent = { type: 'keys'; cameras: CamKey[] } | { type: 'ready'; start: number } | { type: 'done'; published: [serial: string, seq: number, at: number][] };

// ---------------- publishers (child process) ----------------
async function publishers(port: number): Promise<void> {
  const send = (m: ToParent): Promise<void> => new Promise((r) => process.send!(m, () => r()));
  const epoch = Math.floor(Date.now() / 1000) % 0xffff_ffff || 1; // a new boot epoch per run
  const cams = Array.from({ length: CAMERAS }, (_, i) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const raw = spki.subarray(spki.length - 32);
    const keyId = crypto.createHash('sha256').update(raw).digest('hex').slice(0, 16);
    return { serial: `B8A44F${(0x100000 + i).toString(16).toUpperCase().padStart(6, '0')}`, zone: Math.floor(i / PER_ZONE), privateKey, publicKey: raw.toString('base64'), keyId, seq: 0 };
  });
  await send({ type: 'keys', cameras: cams.map((c) => ({ serial: c.serial, zone: c.zone, publicKey: c.publicKey, keyId: c.keyId })) });
  const clients = await Promise.all(cams.map((c) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-${c.serial}`, clean: true, reconnectPeriod: 0 })));

  // Every message of the run, signed up front, in the order it is due. `sent` is signed, so the
  // start must be known first: far enough ahead for the signing (timed on a sample) to finish.
  const sample = Date.now();
  for (let k = 0; k < 200; k++) crypto.sign(null, Buffer.alloc(600, k), cams[0]!.privateKey);
  const perSign = (Date.now() - sample) / 200;
  const total = CAMERAS * RATE_HZ * (WARMUP_S + SECONDS);
  const start = Date.now() + Math.ceil(total * perSign * 1.5) + 1000;
  const period = 1000 / RATE_HZ;
  const plan: { due: number; cam: number; seq: number; topic: string; payload: string }[] = [];
  for (const [i, c] of cams.entries()) {
    for (let due = start + (i * period) / CAMERAS; due < start + (WARMUP_S + SECONDS) * 1000; due += period) {
      const t = Math.round(due);
      const since = t - start;
      const k = Math.floor(since / 1000);
      // The zone's object is visible for the first 300 ms of each second (offset per zone).
      const visible = (since + c.zone * 37) % 1000 < 300;
      const body = JSON.stringify({
        frame: {
          timestamp: t,
          observations: visible
            ? [{ bounding_box: { left: 0.45, top: 0.3, right: 0.55, bottom: 0.6 }, class: { type: CLASSES[k % CLASSES.length]!, score: 0.9 }, track_id: `${c.zone}-${k}`, timestamp: t }]
            : [],
          operations: [],
        },
        stats: { inference_ms: 17.9, fps_camera: RATE_HZ, fps_processed: RATE_HZ, fps_skipped: 0, width: 640, height: 360 },
      });
      c.seq += 1;
      const input = ['omnisight.v2', c.serial, String(epoch), String(c.seq), String(t), 'detections', c.keyId, body].join('\n');
      const sig = crypto.sign(null, Buffer.from(input, 'utf8'), c.privateKey).toString('base64');
      const payload = JSON.stringify({ v: 2, camera: c.serial, epoch, seq: c.seq, sent: t, kind: 'detections', key: c.keyId, body, sig });
      plan.push({ due: t, cam: i, seq: c.seq, topic: `axis/${c.serial}/omnisight/detections`, payload });
    }
  }
  plan.sort((a, b) => a.due - b.due);
  await send({ type: 'ready', start });
  await new Promise<void>((r) => process.once('message', () => r()));

  const published: [string, number, number][] = [];
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = Date.now();
      while (next < plan.length && plan[next]!.due <= now) {
        const m = plan[next++]!;
        clients[m.cam]!.publish(m.topic, m.payload, { qos: 0 });
        published.push([cams[m.cam]!.serial, m.seq, nowHr()]);
      }
      if (next >= plan.length) return resolve();
      setTimeout(tick, Math.max(0, Math.min(5, plan[next]!.due - Date.now())));
    };
    setTimeout(tick, Math.max(0, start - Date.now()));
  });
  await Promise.all(clients.map((c) => c.endAsync()));
  await send({ type: 'done', published });
  process.disconnect();
}

// ---------------- the desktop's side (this process) ----------------
async function main(): Promise<void> {
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').trim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-detections-'));
  const log = silentLogger();
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const audit = createAuditLog({ db, bus, now: Date.now });
  const swarm = createSwarmService({ db, bus, log, now: Date.now, audit });
  const timeline = createTimelineService({ db, bus, log, now: Date.now, random: mulberry32(1) });
  // As linkVerifiedTimeline does in the app: only verified detections reach the timeline.
  let tracked = 0;
  const stageMs = { swarm: 0, timeline: 0 };
  // Serial → camera id, as the fleet maps it in the app (here each camera's id is made from its serial).
  const idOf = new Map<string, CameraId>();
  swarm.onVerifiedDetections((serial, frameTs, observations) => {
    const t0 = performance.now();
    const id = idOf.get(serial);
    if (id && timeline.ingest(id, frameTs, observations).accepted) tracked++;
    stageMs.timeline += performance.now() - t0;
  });
  let confirmed = 0;
  bus.subscribe('swarm.event', (e) => {
    if (!e.closed) confirmed++;
  });
  const service = createMqttService({
    config: () => ({ mode: 'embedded', url: '', username: '' }),
    secrets: { protection: 'os', get: () => undefined, set: () => undefined, delete: () => undefined } as never,
    log,
  });
  await service.start();
  const pool = createVerifyPool({ size: WORKERS, entry: path.join(root, 'main/swarm/verify-worker.ts') });

  // MQTT → bounded queue → worker batches → the swarm, consumed in the order the batches were sent.
  const fusedAt = new Map<string, number>();
  const queue: { topic: string; payload: Buffer; receivedAt: number }[] = [];
  let head = 0;
  let dropped = 0;
  let maxQueue = 0;
  let inFlight = 0;
  let flushes = 0;
  // Batches in the order they were sent; verdicts are handed to the swarm in that order, every batch
  // that is ready at once in one call (one replay write — one fsync — for all of them).
  const slots: { batch: typeof queue; verdicts?: Awaited<ReturnType<typeof pool.verify>> }[] = [];
  let draining = false;
  const drainReady = (): void => {
    draining = false;
    const items: CheckedMessage[] = [];
    while (slots.length && slots[0]!.verdicts) {
      const { batch, verdicts } = slots.shift()!;
      verdicts!.forEach((verdict, i) => items.push({ verdict, receivedAt: batch[i]!.receivedAt, topic: batch[i]!.topic, bytes: batch[i]!.payload.length }));
    }
    if (!items.length) return;
    flushes++;
    const t0 = performance.now();
    const rs = swarm.ingestChecked(items);
    stageMs.swarm += performance.now() - t0;
    const at = nowHr();
    for (const r of rs) if (r.accepted && r.kind === 'detections') fusedAt.set(`${r.camera}|${r.message.envelope.seq}`, at);
    pump();
  };
  let waitTimer: NodeJS.Timeout | undefined;
  const pump = (): void => {
    while (inFlight < 2 * WORKERS && head < queue.length) {
      // A short wait for a fuller batch: fewer messages between threads, fewer replay writes.
      if (queue.length - head < BATCH && !waitTimer) {
        waitTimer = setTimeout(() => {
          waitTimer = undefined;
          send();
        }, BATCH_WAIT_MS);
        return;
      }
      if (waitTimer) return;
      send();
    }
  };
  const send = (): void => {
    if (head >= queue.length) return;
    const batch = queue.slice(head, head + BATCH);
    head += batch.length;
    if (head > 10_000) {
      queue.splice(0, head);
      head = 0;
    }
    inFlight++;
    const slot: (typeof slots)[number] = { batch };
    slots.push(slot);
    void pool.verify(batch.map((m) => ({ payload: m.payload, topic: m.topic }))).then((v) => {
      inFlight--;
      slot.verdicts = v;
      if (!draining) {
        draining = true;
        setImmediate(drainReady);
      }
    });
    pump();
  };
  service.onRaw((topic, payload, receivedAt) => {
    if (queue.length - head >= QUEUE_LIMIT) {
      head++; // shed the oldest, as the app's ingest queue does
      dropped++;
    }
    queue.push({ topic, payload, receivedAt });
    maxQueue = Math.max(maxQueue, queue.length - head);
    pump();
  });

  const ep = service.endpoint()!;
  const child = fork(__filename, ['--publishers', String(ep.port)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    const { published, start } = await new Promise<{ published: [string, number, number][]; start: number }>((resolve, reject) => {
      let start = 0;
      child.on('message', (m: ToParent) => {
        if (m.type === 'keys') {
          const zones: ZoneConfig[] = [...new Set(m.cameras.map((c) => c.zone))].map((z) => ({
            id: `z${z}`,
            name: `Zone ${z}`,
            polygon: [{ x: z * ZONE_M, y: 0 }, { x: (z + 1) * ZONE_M, y: 0 }, { x: (z + 1) * ZONE_M, y: ZONE_M }, { x: z * ZONE_M, y: ZONE_M }],
            cameras: [],
          }));
          swarm.setZoneConfig(zones, 'user');
          for (const c of m.cameras) {
            const x0 = c.zone * ZONE_M;
            swarm.registerCamera({ id: c.serial, keyId: c.keyId, publicKey: c.publicKey, coverage: { zones: [`z${c.zone}`], toGround: (b) => ({ x: x0 + ZONE_M * ((b.left + b.right) / 2), y: ZONE_M * b.bottom }) } });
            // Image (normalised) → ground: this camera looks straight down at its zone.
            const id = parseCameraId(`cam_${c.serial.toLowerCase()}`);
            idOf.set(c.serial, id);
            timeline.setHomography(id, [ZONE_M, 0, x0, 0, ZONE_M, 0, 0, 0, 1]);
          }
          pool.setKeys(m.cameras.map((c) => [c.serial, { keyId: c.keyId, publicKey: c.publicKey }] as [string, { keyId: string; publicKey: string }]));
        } else if (m.type === 'ready') {
          start = m.start;
          loop.enable();
          child.send('go');
        } else resolve({ published: m.published, start });
      });
      child.once('exit', (code) => code !== 0 && reject(new Error(`publishers exited with ${code}`)));
    });
    // What is still queued or in flight gets a moment to land before anything counts as unhandled.
    const settle = Date.now() + 5000;
    while ((head < queue.length || inFlight > 0 || slots.length > 0) && Date.now() < settle) await new Promise((r) => setTimeout(r, 50));
    loop.disable();

    const measureFrom = start + WARMUP_S * 1000;
    const lat: number[] = [];
    let measured = 0;
    for (const [serial, seq, at] of published) {
      if (at < measureFrom) continue; // both epoch milliseconds
      measured++;
      const f = fusedAt.get(`${serial}|${seq}`);
      if (f !== undefined) lat.push(f - at);
    }
    lat.sort((a, b) => a - b);
    const pct = (p: number): number => Math.round((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? Number.NaN) * 100) / 100;
    const counts = swarm.coordinator.verifier.counts();
    const refused = Object.entries(counts.byReason).filter(([, v]) => v > 0);
    const result = {
      cameras: CAMERAS,
      rate_hz: RATE_HZ,
      seconds: SECONDS,
      workers: WORKERS,
      offered_per_s: CAMERAS * RATE_HZ,
      handled_share: measured ? Math.round((lat.length / measured) * 10_000) / 10_000 : 0,
      handled_per_s: Math.round((lat.length / SECONDS) * 10) / 10,
      latency_p50_ms: pct(0.5),
      latency_p99_ms: pct(0.99),
      latency_max_ms: lat.length ? Math.round(lat[lat.length - 1]! * 100) / 100 : null,
      dropped,
      note:
        `publish -> fused (MQTT via the embedded aedes broker, ${WORKERS} verification worker thread(s) in batches of up to ${BATCH} (a partial batch waits ${BATCH_WAIT_MS} ms), stateful checks + replay state in SQLite per batch, fusion, timeline). ` +
        `${published.length} detections published, ${measured} after the ${WARMUP_S} s warm-up, ${lat.length} of those fused; ${counts.accepted} accepted in all; ` +
        `refused: ${refused.length ? refused.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'} (clock_skew means a message waited > 5 s); ` +
        `queue max ${maxQueue}, shed ${dropped}; ${confirmed} events confirmed, ${tracked} reports tracked by the timeline; ` +
        `${flushes} swarm batches (replay writes); main-thread time in the swarm's stateful checks + replay write + fusion + listeners ${Math.round(stageMs.swarm - stageMs.timeline)} ms, in the timeline ${Math.round(stageMs.timeline)} ms; ` +
        `this process's event-loop delay p99 ${Math.round(loop.percentile(99) / 1e4) / 100} ms; loadavg before ${load0}, after ${fs.readFileSync('/proc/loadavg', 'utf8').trim()} (${os.availableParallelism()} cores).`,
    };
    fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench-results/detections.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (child.exitCode === null) child.kill();
    await pool.close();
    await service.close();
    timeline.close();
    swarm.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--publishers');
(i >= 0 ? publishers(Number(process.argv[i + 1])) : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-detections failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
