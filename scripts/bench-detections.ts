// npm run bench:detections — camera detections through the desktop's whole path, at fleet scale:
// 1,000 cameras × 10 Hz by default (BENCH_CAMERAS, BENCH_RATE_HZ, BENCH_SECONDS, BENCH_WORKERS,
// BENCH_BROKERS = "mosquitto,embedded", BENCH_SWEEP = "2000,4000,..." reports/s to find the ceiling,
// BENCH_ENVELOPE = "v3" (default) or "v2": every report Ed25519-signed, for comparison).
// Writes bench-results/detections.json: one run per broker,
// Debian's mosquitto first (the product's answer to a large fleet: Settings → MQTT → external), then
// the embedded aedes broker, which runs on a thread of the desktop's process (main/mqtt/broker-worker.ts).
//
// The path measured is the app's own (main/app/app.ts wiring, not a copy): main's MQTT subscriber
// (main/mqtt) → the swarm link (main/app/wiring-swarm: bounded ingest queue that sheds what waited
// more than 1 s, batches to the verification workers as one transferred buffer, every ready batch
// handed to the swarm at once) → verification workers (main/swarm/verify-pool: parse +
// Ed25519, one per core) → the swarm's stateful checks (recorded key, clock, replay window) → the
// replay state committed by the swarm's writer thread (main/swarm/replay-writer: its own SQLite
// file, group commit, an fsync per commit) before acting → fusion (f+1 per zone, events persisted) →
// the timeline (tracking on the ground plane, through linkVerifiedTimeline). The publishers run in a
// child process, one MQTT connection and one Ed25519 key per camera, speaking envelope v3 exactly as
// docs/protocol.md describes (built here from the document, not from the simulator's or the
// coordinator's code): each camera receives the desktop's retained session key, opens a session
// (ephemeral X25519, HKDF), announces it in a signed v2 `session` message (again every 30 s), then
// sends its detections as v3 with HMAC-SHA256. They build every message before the run (so their
// CPU does not compete while publishing) with `sent` = the time it is due, and report the time each
// one was actually published.
//
// Latency = the moment the swarm hands the verified, fused report to the timeline − the moment the
// publisher published it (both this machine's clock, high resolution). Share handled = reports that
// reached the timeline / reports published after the warm-up. CPU per stage over the measured
// window: publishers (child process), broker (mosquitto process, or inside the desktop), the
// desktop's main thread (of which the swarm commit and the timeline), the verification workers; and
// per report (cpu_us_per_report), with the rate the cores would sustain at those costs
// (ceiling_estimate_per_s: cores × 10⁶ / µs per report — an upper bound, for the arithmetic).
//
// What makes the p99 (measured 2026-12-03 on the shared 2-core machine, load 6–15, so the shares
// matter more than the ms): the slowest 1 % are reports that arrived while the main thread was not
// reading its socket; p99_tail_causes_ms lines each one up with GC pauses, ticker gaps and batch
// applies (in the loaded runs every one had a GC pause ≥ 5 ms in flight, but each was in flight
// for hundreds of ms, most of it with the thread preempted, so an idle run must say which stall
// dominates). Found and cut: (1) an fsync on
// the main thread every 250 ms — the swarm tick committed closing events durably (strace -f: 1–22
// ms each); now written behind like a batch's effects. (2) The timeline's 5 Hz snapshot refresh
// built every shown future point twice (refresh CPU −30 %, a third fewer GC pauses in a harness of
// 300 changed tracks); timeline_call_ms_* shows the refresh as the calls over 5 ms. Where the main
// thread allocates (BENCH_HEAP_SAMPLE, 1,000 cameras, ≈ 50 MB/s): the MQTT client's receive path
// ≈ 37 % (mqtt-packet's parser alone ≈ 10 % in its debug() calls' argument arrays, which no option
// turns off; its payload copies ≈ 9 %), worker verdicts and SQLite rows made by native code ≈ 12 %,
// the timeline's tracker ≈ 11 %, the swarm's checks, fusion and results ≈ 9 %. Tried and dropped:
// acting on batches in 4 ms slices between socket reads (a 300-camera run under load handled 94.9 %
// instead of 100 %: deferred applies let batches pile into ten times larger ones); a larger V8 young
// generation (v8.setFlagsFromString does not resize it after start, and Electron's main process
// takes V8 flags only on its command line, so the app could not have it).
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import mqtt from 'mqtt';
import { parseCameraId, type CameraId } from '../preload/contract/camera-id';
import { createAuditLog } from '../main/audit';
import { createEventBus } from '../main/kernel/bus';
import { silentLogger } from '../main/kernel/logger';
import { mulberry32 } from '../main/kernel/random';
import { createMqttService } from '../main/mqtt';
import { openDatabase } from '../main/store';
import { createReplayWriter, createSwarmService, createVerifyPool, loadDesktopSessionKey, REPLAY_FILE, SESSION_KEY_TOPIC, type BatchTiming, type ZoneConfig } from '../main/swarm';
import { linkSwarm } from '../main/app/wiring-swarm';
import { linkVerifiedTimeline } from '../main/app/wiring-glue';
import { createTimelineService } from '../main/timeline';

const CAMERAS = Number(process.env.BENCH_CAMERAS ?? 1000);
const RATE_HZ = Number(process.env.BENCH_RATE_HZ ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** As the app does (main/app/app.ts): one verification worker per core. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? Math.max(1, Math.min(4, os.availableParallelism())));
const ENVELOPE = process.env.BENCH_ENVELOPE === 'v2' ? 'v2' : 'v3';
/** Minimum ms between two hand-overs of verified batches to the swarm (the link's default unless set). */
const COMMIT_SPACING = process.env.BENCH_COMMIT_SPACING_MS === undefined ? undefined : Number(process.env.BENCH_COMMIT_SPACING_MS);
/**
 * Diagnosis only: where this thread allocates in the measured window (V8's sampling heap profiler,
 * objects a GC collected included), written to <path>.<broker>.heapprofile (Chrome DevTools' format).
 * It costs the main thread a little; not for the figures.
 */
const HEAP_SAMPLE = process.env.BENCH_HEAP_SAMPLE;
const heapSampling = new inspector.Session();
if (HEAP_SAMPLE) heapSampling.connect();
const BROKERS = (process.env.BENCH_BROKERS ?? 'mosquitto,embedded').split(',').map((b) => b.trim()) as ('mosquitto' | 'embedded')[];
/** Connections, JIT and the broker's first subscriptions settle here; not measured. */
const WARMUP_S = 2;
const PER_ZONE = 5;
const ZONE_M = 10;
const CLASSES = ['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other'] as const;
const root = path.resolve(__dirname, '..');
const nowHr = (): number => performance.timeOrigin + performance.now();
/** docs/protocol.md: a camera announces its session again this often. */
const SESSION_REPEAT_MS = 30_000;
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

type CamKey = { serial: string; zone: number; publicKey: string; keyId: string };
type ToParent =
  | { type: 'keys'; cameras: CamKey[] }
  | { type: 'ready'; start: number }
  | { type: 'done'; published: [serial: string, frameTs: number, at: number][]; cpuMs: number };

// ---------------- publishers (child process) ----------------

/**
 * An MQTT 3.1.1 PUBLISH packet at QoS 0 (spec §3.3): fixed header 0x30, the remaining length as a
 * variable-length integer, the topic as a length-prefixed UTF-8 string, then the payload; no packet
 * id at QoS 0, so a connected client's socket can take it as it is. Encoded before the run so the
 * load generator spends its CPU on the wire, not on packet building (mqtt.js' publish costs about as
 * much as verifying the report).
 */
function publishPacket(topic: string, payload: string): Buffer {
  const t = Buffer.from(topic, 'utf8');
  const p = Buffer.from(payload, 'utf8');
  let rest = 2 + t.length + p.length;
  const len: number[] = [];
  do {
    let b = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) b |= 0x80;
    len.push(b);
  } while (rest > 0);
  const head = Buffer.from([0x30, ...len, t.length >> 8, t.length & 0xff]);
  return Buffer.concat([head, t, p]);
}
async function publishers(port: number, CAMERAS: number): Promise<void> {
  // The messages go out at their due time from one event loop; `sent` is that due time, `frame.timestamp` too.
  const send = (m: ToParent): Promise<void> => new Promise((r) => process.send!(m, () => r()));
  const epoch = Math.floor(Date.now() / 1000) % 0xffff_ffff || 1; // a new boot epoch per run
  const cams = Array.from({ length: CAMERAS }, (_, i) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const raw = spki.subarray(spki.length - 32);
    const keyId = crypto.createHash('sha256').update(raw).digest('hex').slice(0, 16);
    return { serial: `B8A44F${(0x100000 + i).toString(16).toUpperCase().padStart(6, '0')}`, zone: Math.floor(i / PER_ZONE), privateKey, publicKey: raw.toString('base64'), keyId, seq: 0 };
  });
  const registered = new Promise<void>((r) => process.once('message', () => r()));
  await send({ type: 'keys', cameras: cams.map((c) => ({ serial: c.serial, zone: c.zone, publicKey: c.publicKey, keyId: c.keyId })) });
  await registered; // the desktop has the keys: the session announcements below are not refused as unknown cameras
  const clients = await Promise.all(cams.map((c) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-${c.serial}`, clean: true, reconnectPeriod: 0 })));
  const sign = (c: (typeof cams)[number], seq: number, sent: number, kind: string, body: string): string => {
    const input = ['omnisight.v2', c.serial, String(epoch), String(seq), String(sent), kind, c.keyId, body].join('\n');
    const sig = crypto.sign(null, Buffer.from(input, 'utf8'), c.privateKey).toString('base64');
    return JSON.stringify({ v: 2, camera: c.serial, epoch, seq, sent, kind, key: c.keyId, body, sig });
  };

  // Envelope v3: every camera subscribes to the desktop's retained key, opens session 1 on receipt
  // and announces it (signed v2, QoS 1) before the run.
  const sessions = await Promise.all(
    cams.map(
      (c, i) =>
        new Promise<{ k: Buffer; body: string }>((resolve, reject) => {
          const cl = clients[i]!;
          cl.once('message', (_topic, payload) => {
            try {
              const d = JSON.parse(payload.toString()) as { v: number; key: string; id: string };
              const eSk = crypto.createPrivateKey({ key: Buffer.concat([X25519_PKCS8, crypto.randomBytes(32)]), format: 'der', type: 'pkcs8' });
              const ePk = crypto.createPublicKey(eSk).export({ format: 'der', type: 'spki' }).subarray(-32);
              const shared = crypto.diffieHellman({ privateKey: eSk, publicKey: crypto.createPublicKey({ key: Buffer.concat([X25519_SPKI, Buffer.from(d.key, 'base64')]), format: 'der', type: 'spki' }) });
              const k = Buffer.from(crypto.hkdfSync('sha256', shared, `${c.serial}\n${epoch}\n1`, 'omnisight.v3.session', 32));
              const body = JSON.stringify({ session: 1, desktopKey: d.id, ephemeral: ePk.toString('base64') });
              c.seq += 1;
              cl.publish(`axis/${c.serial}/omnisight/session`, sign(c, c.seq, Date.now(), 'session', body), { qos: 1 }, (err) => (err ? reject(err) : resolve({ k, body })));
            } catch (err) {
              reject(err as Error);
            }
          });
          cl.subscribe('omnisight/desktop/session-key', { qos: 1 });
        }),
    ),
  );

  // Every message of the run, built (MAC'd) up front, in the order it is due. `sent` is under the
  // MAC, so the start must be known first: far enough ahead for the building (timed on a sample) to finish.
  const sample = performance.now();
  for (let k = 0; k < 500; k++)
    if (ENVELOPE === 'v2') crypto.sign(null, Buffer.alloc(600, k), cams[0]!.privateKey);
    else crypto.createHmac('sha256', sessions[0]!.k).update(Buffer.alloc(600, k)).digest('base64');
  const perSign = (performance.now() - sample) / 500 + 0.02; // + JSON and packet building
  const total = CAMERAS * RATE_HZ * (WARMUP_S + SECONDS);
  // Generous: on a busy machine the sample underestimates, and a plan that starts before its
  // signing is done publishes everything late (the run's publisher_lag then says so).
  const start = Date.now() + Math.ceil(total * perSign * 3) + 2000;
  const period = 1000 / RATE_HZ;
  const plan: { due: number; cam: number; packet: Buffer; report: boolean }[] = [];
  for (const [i, c] of cams.entries()) {
    let nextAnnounce = start + SESSION_REPEAT_MS;
    for (let due = start + (i * period) / CAMERAS; due < start + (WARMUP_S + SECONDS) * 1000; due += period) {
      const t = Math.round(due);
      if (t >= nextAnnounce) {
        // The same session announced again (same S and e_pk, new seq), signed: a desktop that missed it recovers.
        nextAnnounce += SESSION_REPEAT_MS;
        c.seq += 1;
        plan.push({ due: t, cam: i, packet: publishPacket(`axis/${c.serial}/omnisight/session`, sign(c, c.seq, t, 'session', sessions[i]!.body)), report: false });
      }
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
      if (ENVELOPE === 'v2') {
        plan.push({ due: t, cam: i, packet: publishPacket(`axis/${c.serial}/omnisight/detections`, sign(c, c.seq, t, 'detections', body)), report: true });
        continue;
      }
      const input = ['omnisight.v3', c.serial, String(epoch), String(c.seq), String(t), 'detections', c.keyId, '1', body].join('\n');
      const mac = crypto.createHmac('sha256', sessions[i]!.k).update(input, 'utf8').digest('base64');
      const payload = JSON.stringify({ v: 3, camera: c.serial, epoch, seq: c.seq, sent: t, kind: 'detections', key: c.keyId, session: 1, body, mac });
      plan.push({ due: t, cam: i, packet: publishPacket(`axis/${c.serial}/omnisight/detections`, payload), report: true });
    }
  }
  plan.sort((a, b) => a.due - b.due);
  await send({ type: 'ready', start });
  await new Promise<void>((r) => process.once('message', () => r()));

  const published: [string, number, number][] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = Date.now();
      while (next < plan.length && plan[next]!.due <= now) {
        const m = plan[next++]!;
        // The PUBLISH packet was encoded with the signature: at its due time only the write is left.
        (clients[m.cam]!.stream as net.Socket).write(m.packet);
        if (m.report) published.push([cams[m.cam]!.serial, m.due, nowHr()]);
      }
      if (next >= plan.length) return resolve();
      setTimeout(tick, Math.max(0, Math.min(5, plan[next]!.due - Date.now())));
    };
    setTimeout(tick, Math.max(0, start - Date.now()));
  });
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients.map((c) => c.endAsync()));
  await send({ type: 'done', published, cpuMs: (cpu.user + cpu.system) / 1000 });
  process.disconnect();
}

// ---------------- the desktop's side (this process) ----------------

/** CPU time (user + system) of a process or thread from /proc, ms (Linux; undefined elsewhere). */
function procCpuMs(statPath: string): number | undefined {
  try {
    const stat = fs.readFileSync(statPath, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startMosquitto(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  // QoS 0 camera messages; the desktop subscribes at QoS 1 (delivered at 0). Nothing persisted.
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\n`);
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  const end = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const sock = net.connect(port, '127.0.0.1', () => (sock.end(), r(true)));
      sock.on('error', () => r(false));
    });
    if (ok) break;
    if (Date.now() > end) throw new Error('mosquitto did not start (apt-get install mosquitto)');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `mqtt://127.0.0.1:${port}`, proc };
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

async function run(broker: 'mosquitto' | 'embedded', CAMERAS: number): Promise<Record<string, unknown>> {
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').trim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-detections-'));
  const log = silentLogger();
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const audit = createAuditLog({ db, bus, now: Date.now });
  const store = new Map<string, string>();
  const sessionKey = loadDesktopSessionKey({ get: (n) => store.get(n), set: (n, v) => void store.set(n, v) });
  // As the app wires it (main/app/app.ts): the replay state committed on the writer thread.
  const writerCommits: { ms: number; rows: number }[] = [];
  const replayWriter = createReplayWriter({ file: path.join(dir, REPLAY_FILE), entry: path.join(root, 'main/swarm/replay-writer-worker.ts'), onCommit: (ms, rows) => void writerCommits.push({ ms, rows }) });
  const batches: BatchTiming[] = [];
  const swarm = createSwarmService({ db, bus, log, now: Date.now, audit, sessionKey, replayWriter, onBatchTiming: (t) => void batches.push(t) });
  const timeline = createTimelineService({ db, bus, log, now: Date.now, random: mulberry32(1) });
  const mosq = broker === 'mosquitto' ? await startMosquitto(dir) : undefined;
  const service = createMqttService({
    config: () => (mosq ? { mode: 'external', url: mosq.url, username: '' } : { mode: 'embedded', url: '', username: '' }),
    secrets: { protection: 'os', get: () => undefined, set: () => undefined, delete: () => undefined } as never,
    log,
  });
  service.retainOnConnect(SESSION_KEY_TOPIC, sessionKey.announcement());
  await service.start();
  const pool = createVerifyPool({ size: WORKERS, entry: path.join(root, 'main/swarm/verify-worker.ts') });

  // Stage clocks on the main thread: the swarm's batches (stateful checks; then, once the writer
  // thread committed their replay state, fusion, events, listeners — the timeline among them) and
  // the timeline alone.
  const stageMs = { swarm: 0, timeline: 0, commits: 0 };
  const timed = <A extends unknown[], R>(fn: (...a: A) => R, add: (ms: number) => void) => (...a: A): R => {
    const t0 = performance.now();
    try {
      return fn(...a);
    } finally {
      add(performance.now() - t0);
    }
  };
  /** Each timeline call's duration (ms): its upkeep (track sweep, futures for the published snapshot) runs inside one call now and then. */
  const timelineCalls: number[] = [];
  timeline.ingestBatch = timed(timeline.ingestBatch.bind(timeline), (ms) => {
    stageMs.timeline += ms;
    if (gc.on) timelineCalls.push(ms);
  });

  // The fleet as the link sees it: the registry (serial, recorded key) and the subscriber.
  // Each camera's id is made from its serial here, but unlike it (the app never relies on them being equal).
  const cameras: { id: CameraId; serial: string }[] = [];
  const keys = new Map<CameraId, { keyId: string; publicKey: string }>();
  const idOf = new Map<string, CameraId>(); // serial → camera id, as the fleet maps it in the app
  const fleet = {
    fleet: { registry: { list: () => cameras, keyOf: (id: CameraId) => keys.get(id) } },
    mqtt: service,
    demo: () => undefined,
    ready: Promise.resolve(),
  };
  // BENCH_LINK_RATE_RULES=off: the swarm link without its arrival-rate rules (small batches always
  // gather for the workers, never verified on the main thread), for before/after in one session.
  const LINK_RATE_RULES = process.env.BENCH_LINK_RATE_RULES === 'off' ? { gatherMinRate: 0, directVerifyMaxRate: 0 } : {};
  const link = linkSwarm({ swarm, perf: { setIngestQueue: () => undefined }, fleet: fleet as never, bus, log, calibrationOf: (id) => timeline.homographyOf(id), pool, poolSize: WORKERS, ...LINK_RATE_RULES, ...(COMMIT_SPACING !== undefined ? { commitSpacingMs: COMMIT_SPACING } : {}) });
  const offTimeline = linkVerifiedTimeline({ swarm, timeline, cameraOf: (serial) => idOf.get(serial) });
  // When each report was fused, and when the desktop received it (the MQTT client's clock at
  // receipt: splits a latency into transit — publisher → broker → desktop socket — and the
  // desktop's part). Kept in typed arrays indexed by (camera, frame number), not in maps keyed by
  // strings: a map of 120,000 entries grew the old generation and its collections paused this very
  // thread for up to 100–300 ms, which the latencies then included. The swarm tells its message
  // listeners of a report just before its detection listeners.
  const camIndex = new Map<string, number>();
  const framesPerCamera = RATE_HZ * (WARMUP_S + SECONDS) + 1;
  const period = 1000 / RATE_HZ;
  let planStart = Number.NaN;
  let fusedAt = new Float64Array(0);
  let receivedAt = new Float64Array(0);
  /** The publisher's frame timestamps are Math.round(start + i·period/CAMERAS + k·period): k is recovered exactly. */
  const slotOf = (serial: string, frameTs: number): number => {
    const i = camIndex.get(serial);
    if (i === undefined || Number.isNaN(planStart)) return -1;
    const k = Math.round((frameTs - planStart - (i * period) / CAMERAS) / period);
    return k >= 0 && k < framesPerCamera ? i * framesPerCamera + k : -1;
  };
  let lastReceived = Number.NaN;
  swarm.onMessage((m) => {
    if (m.kind === 'detections') lastReceived = m.receivedAt;
  });
  swarm.onVerifiedDetections((serial, frameTs) => {
    const at = slotOf(serial, frameTs);
    if (at < 0) return;
    fusedAt[at] = nowHr();
    receivedAt[at] = lastReceived;
  });
  // Garbage collection on this thread: total pause and the longest one in the measured window.
  const gc = { ms: 0, max: 0, count: 0, on: false };
  /** Each GC pause and each main-thread stall in the measured window, [start, end] on nowHr()'s clock: lined up with the slowest reports below. */
  const gcPauses: [number, number][] = [];
  const stalls: [number, number][] = [];
  // A 5 ms ticker: a gap of ≥ 15 ms between two ticks is a stretch in which this thread ran something
  // else (a long task or a GC pause) and read no socket. 200 wake-ups a second cost next to nothing.
  let lastTick = nowHr();
  const ticker = setInterval(() => {
    const t = nowHr();
    if (gc.on && t - lastTick >= 15) stalls.push([lastTick, t]);
    lastTick = t;
  }, 5);
  const gcObs = new PerformanceObserver((list) => {
    if (!gc.on) return;
    for (const e of list.getEntries()) {
      gc.ms += e.duration;
      gcPauses.push([performance.timeOrigin + e.startTime, performance.timeOrigin + e.startTime + e.duration]);
      gc.max = Math.max(gc.max, e.duration);
      gc.count++;
    }
  });
  gcObs.observe({ entryTypes: ['gc'] });
  let confirmed = 0;
  bus.subscribe('swarm.event', (e) => {
    if (!e.closed) confirmed++;
  });

  const ep = service.endpoint()!;
  const child = fork(__filename, ['--publishers', String(ep.port), String(CAMERAS)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const mainTask = `/proc/self/task/${process.pid}/stat`;
  let cpu0 = { main: 0, proc: 0, broker: 0, workers: [] as number[] };
  /** How long before its start the publishers had signed every message (negative: they started late). */
  let readyAhead = 0;
  const cpuNow = async () => ({
    main: procCpuMs(mainTask) ?? 0,
    proc: procCpuMs('/proc/self/stat') ?? 0,
    broker: mosq?.proc.pid ? (procCpuMs(`/proc/${mosq.proc.pid}/stat`) ?? 0) : 0,
    workers: (await pool.cpuMs()).map((ms) => ms ?? 0),
  });
  try {
    const { published, start, publisherCpuMs } = await new Promise<{ published: [string, number, number][]; start: number; publisherCpuMs: number }>((resolve, reject) => {
      let start = 0;
      child.on('message', (m: ToParent) => {
        if (m.type === 'keys') {
          const byZone = new Map<number, string[]>();
          for (const c of m.cameras) byZone.set(c.zone, [...(byZone.get(c.zone) ?? []), c.serial]);
          const zones: ZoneConfig[] = [...byZone].map(([z, serials]) => ({
            id: `z${z}`,
            name: `Zone ${z}`,
            polygon: [{ x: z * ZONE_M, y: 0 }, { x: (z + 1) * ZONE_M, y: 0 }, { x: (z + 1) * ZONE_M, y: ZONE_M }, { x: z * ZONE_M, y: ZONE_M }],
            cameras: serials,
          }));
          for (const [i, c] of m.cameras.entries()) camIndex.set(c.serial, i);
          for (const c of m.cameras) {
            const id = parseCameraId(`cam_${c.serial.toLowerCase()}`);
            cameras.push({ id, serial: c.serial });
            keys.set(id, { keyId: c.keyId, publicKey: c.publicKey });
            idOf.set(c.serial, id);
            // Image (normalised) → ground: this camera looks straight down at the inner 8 m × 8 m of its zone.
            timeline.setHomography(id, [ZONE_M - 2, 0, c.zone * ZONE_M + 1, 0, ZONE_M - 2, 1, 0, 0, 1]);
          }
          swarm.setZoneConfig(zones, 'user'); // the link re-registers every camera (key, coverage) and gives the workers the keys
          link.sync();
          child.send('registered');
        } else if (m.type === 'ready') {
          start = m.start;
          planStart = m.start;
          fusedAt = new Float64Array(CAMERAS * framesPerCamera).fill(Number.NaN);
          receivedAt = new Float64Array(CAMERAS * framesPerCamera).fill(Number.NaN);
          readyAhead = m.start - Date.now();
          loop.enable();
          const wait = Math.max(0, start + WARMUP_S * 1000 - Date.now());
          setTimeout(() => {
            void cpuNow().then((c) => (cpu0 = c)); // CPU counted from the end of the warm-up
            gc.on = true;
            if (HEAP_SAMPLE) heapSampling.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
            batches.length = 0;
            writerCommits.length = 0;
            stageMs.swarm = 0;
            stageMs.timeline = 0;
            stageMs.commits = 0;
            loop.reset();
          }, wait);
          child.send('go');
        } else resolve({ published: m.published, start, publisherCpuMs: m.cpuMs });
      });
      child.once('exit', (code) => code !== 0 && reject(new Error(`publishers exited with ${code}`)));
    });
    const endPublish = Date.now();
    // What is still queued or in flight gets a moment to land before anything counts as unhandled.
    const settle = Date.now() + 3000;
    while ((link.queueDepth() > 0 || pool.inFlight() > 0) && Date.now() < settle) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const cpu1 = await cpuNow();
    gc.on = false;
    if (HEAP_SAMPLE)
      await new Promise<void>((resolve) =>
        heapSampling.post('HeapProfiler.stopSampling', (err, r) => {
          if (!err) fs.writeFileSync(`${HEAP_SAMPLE}.${broker}.heapprofile`, JSON.stringify(r.profile));
          resolve();
        }),
      );
    gcObs.disconnect();
    for (const b of batches) {
      stageMs.swarm += b.stageMs + b.applyMs;
      stageMs.commits++;
    }
    const windowS = (Date.now() - (start + WARMUP_S * 1000)) / 1000;
    loop.disable();

    const measureFrom = start + WARMUP_S * 1000;
    const lat: number[] = [];
    const split: { total: number; transit: number; at: number }[] = [];
    let measured = 0;
    for (const [serial, frameTs, at] of published) {
      if (at < measureFrom) continue; // both epoch milliseconds
      measured++;
      const at0 = slotOf(serial, frameTs);
      const f = at0 < 0 ? Number.NaN : fusedAt[at0]!;
      if (Number.isNaN(f)) continue;
      lat.push(f - at);
      const r = receivedAt[at0]!;
      if (!Number.isNaN(r)) split.push({ total: f - at, transit: r - at, at });
    }
    lat.sort((a, b) => a - b);
    // Where the slowest 1 % spent their time (median over them): transit to the desktop's socket vs.
    // the desktop (queue, workers, checks, the wait for the replay commit, fusion, timeline).
    split.sort((a, b) => a.total - b.total);
    const slow = split.slice(Math.floor(split.length * 0.99));
    clearInterval(ticker);
    // What the slowest 1 % lived through between publish and fused: GC pauses, main-thread stalls
    // (gaps of the 5 ms ticker), and the batches acted on in that time (their apply, on this thread).
    const toHr = (x: number): number => performance.timeOrigin + x;
    const applies: [number, number][] = batches.filter((b) => b.endedAt !== undefined).map((b) => [toHr(b.endedAt! - b.applyMs), toHr(b.endedAt!)]);
    const overlap = (spans: [number, number][], a: number, b: number): number => {
      let ms = 0;
      for (const [s0, s1] of spans) if (s1 > a && s0 < b) ms += Math.min(s1, b) - Math.max(s0, a);
      return ms;
    };
    const tailCauses = slow.map((x) => ({ gc: overlap(gcPauses, x.at, x.at + x.total), stall: overlap(stalls, x.at, x.at + x.total), apply: overlap(applies, x.at, x.at + x.total), total: x.total }));
    const share = (f: (c: (typeof tailCauses)[number]) => boolean): number => (tailCauses.length ? round(tailCauses.filter(f).length / tailCauses.length, 3) : 0);
    const stallMs = stalls.map(([a, b]) => b - a);
    const stallsWithGc = stalls.filter(([a, b]) => overlap(gcPauses, a, b) >= 5).length;
    const med = (xs: number[]): number | null => (xs.length ? round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!, 1) : null);
    const bq = (xs: number[], p: number): number | null => (xs.length ? round(xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!, 2) : null);
    // How late the load generator published against the schedule (its `sent`): if it cannot keep up
    // on this machine, reports arrive late or stale through no fault of the desktop.
    const lag = published.filter(([, , at]) => at >= measureFrom).map(([, due, at]) => at - due).sort((a, b) => a - b);
    const lagPct = (p: number): number | null => (lag.length ? round(lag[Math.min(lag.length - 1, Math.floor(p * lag.length))]!, 1) : null);
    const pct = (p: number): number | null => (lat.length ? round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!, 2) : null);
    const counts = swarm.coordinator.verifier.counts();
    const refused = Object.entries(counts.byReason).filter(([, v]) => v > 0);
    const workerMs = cpu1.workers.map((w, i) => w - (cpu0.workers[i] ?? 0));
    const verifyMs = workerMs.reduce((a, b) => a + b, 0);
    const mainMs = cpu1.main - cpu0.main;
    const per = (ms: number): number => round((ms / windowS / 1000) * 100);
    const brokerDropped = service.counts().brokerDropped;
    // Reports the desktop received in the measured window ≈ received in all × the measured share of the run.
    const receivedInWindow = Math.max(1, service.counts().received * (measured / Math.max(1, published.length)));
    const us = (ms: number): number => round((ms * 1000) / receivedInWindow, 1);
    const perReport = {
      publishers: round((publisherCpuMs * 1000) / Math.max(1, published.length), 1),
      broker: mosq ? us(cpu1.broker - cpu0.broker) : 0,
      desktop_main_thread: us(mainMs),
      verification: us(verifyMs),
    };
    const ceiling = (usPer: number): number => (usPer > 0 ? Math.round((os.availableParallelism() * 1e6) / usPer) : 0);
    const measuredS = (endPublish - measureFrom) / 1000;
    return {
      broker: broker === 'mosquitto' ? 'mosquitto (external, Debian)' : 'embedded aedes',
      envelope: ENVELOPE,
      cameras: CAMERAS,
      rate_hz: RATE_HZ,
      seconds: SECONDS,
      workers: WORKERS,
      offered_per_s: CAMERAS * RATE_HZ,
      published_per_s: round(measured / measuredS),
      handled_share: measured ? round(lat.length / measured, 4) : 0,
      handled_per_s: round(lat.length / measuredS),
      latency_p50_ms: pct(0.5),
      latency_p95_ms: pct(0.95),
      latency_p99_ms: pct(0.99),
      latency_max_ms: lat.length ? round(lat[lat.length - 1]!, 2) : null,
      // The slowest 1 % of reports: median transit (publish → the desktop's MQTT client) and desktop part (→ fused).
      p99_tail_breakdown_ms: { reports: slow.length, transit_median: med(slow.map((x) => x.transit)), desktop_median: med(slow.map((x) => x.total - x.transit)) },
      // Per slow report (the slowest 1 %), medians of the main-thread time spent, while it was in
      // flight, in GC pauses, in stalls (ticker gaps ≥ 15 ms, GC included) and in acting on batches
      // (fusion, events, timeline; overlaps stalls); and the stalls themselves over the window.
      p99_tail_causes_ms: {
        gc_in_flight_median: med(tailCauses.map((c) => c.gc)),
        stall_in_flight_median: med(tailCauses.map((c) => c.stall)),
        apply_in_flight_median: med(tailCauses.map((c) => c.apply)),
        share_with_a_gc_pause_over_5ms_in_flight: share((c) => c.gc >= 5),
        share_with_stalls_over_half_their_latency: share((c) => c.stall >= c.total / 2),
        stalls_over_15ms: stalls.length,
        stall_ms_p50: bq(stallMs, 0.5),
        stall_ms_max: bq(stallMs, 1),
        stalls_with_5ms_of_gc_share: stalls.length ? round(stallsWithGc / stalls.length, 3) : 0,
      },
      // Per batch handed to the swarm: main-thread checks, the wait for the writer thread's replay
      // commit (and the batches before it), main-thread acting (fusion, events, timeline).
      batches: {
        count: batches.length,
        messages_mean: batches.length ? round(batches.reduce((a, b) => a + b.messages, 0) / batches.length) : 0,
        stage_ms_p50: bq(batches.map((b) => b.stageMs), 0.5),
        stage_ms_p99: bq(batches.map((b) => b.stageMs), 0.99),
        commit_wait_ms_p50: bq(batches.map((b) => b.commitWaitMs), 0.5),
        commit_wait_ms_p99: bq(batches.map((b) => b.commitWaitMs), 0.99),
        apply_ms_p50: bq(batches.map((b) => b.applyMs), 0.5),
        apply_ms_p99: bq(batches.map((b) => b.applyMs), 0.99),
        timeline_call_ms_p50: bq(timelineCalls, 0.5),
        timeline_call_ms_p99: bq(timelineCalls, 0.99),
        timeline_call_ms_max: bq(timelineCalls, 1),
        timeline_calls_over_5ms: timelineCalls.filter((ms) => ms > 5).length,
      },
      // The writer thread's commits (transaction + fsync of swarm-replay.db), in the measured window.
      replay_commits: {
        count: writerCommits.length,
        rows_mean: writerCommits.length ? round(writerCommits.reduce((a, c) => a + c.rows, 0) / writerCommits.length) : 0,
        ms_p50: bq(writerCommits.map((c) => c.ms), 0.5),
        ms_p99: bq(writerCommits.map((c) => c.ms), 0.99),
        ms_max: bq(writerCommits.map((c) => c.ms), 1),
      },
      event_loop_delay_ms: { p50: round(loop.percentile(50) / 1e6, 2), p99: round(loop.percentile(99) / 1e6, 2), max: round(loop.max / 1e6, 2) },
      gc_main_thread: { pause_ms_total: round(gc.ms), pause_ms_max: round(gc.max, 2), pauses: gc.count },
      commit_spacing_ms: COMMIT_SPACING ?? 'default',
      publisher_signed_ahead_of_start_ms: Math.round(readyAhead),
      publisher_lag_p50_ms: lagPct(0.5),
      publisher_lag_p99_ms: lagPct(0.99),
      shed_by_desktop: link.dropped(),
      dropped_by_broker: brokerDropped,
      refused: Object.fromEntries(refused),
      // Share of one core over the measured window (warm-up end → settled), per stage.
      cpu_percent_of_a_core: {
        publishers_process: round((publisherCpuMs / ((WARMUP_S + SECONDS) * 1000)) * 100), // over its whole publishing phase
        broker: mosq ? per(cpu1.broker - cpu0.broker) : 'a thread of the desktop process (in desktop_other_threads)',
        desktop_main_thread: per(mainMs),
        // Wall time on the main thread (equal to its CPU on an idle machine); the swarm's part is its
        // checks and acting on batches, not the replay commit (on the writer thread):
        of_which_swarm_commits_wall: per(stageMs.swarm - stageMs.timeline),
        of_which_timeline_wall: per(stageMs.timeline),
        verification_workers: per(verifyMs),
        desktop_process_all_threads: per(cpu1.proc - cpu0.proc),
        // The rest of the process: the embedded broker's thread (when embedded), the replay writer, GC and libuv threads.
        desktop_other_threads: per(cpu1.proc - cpu0.proc - mainMs - verifyMs),
      },
      // CPU per report by stage over the measured window, and what the cores would sustain at those
      // costs if every stage scaled perfectly (an upper bound, arithmetic on the measured figures).
      cpu_us_per_report: perReport,
      ceiling_estimate_per_s: {
        all_stages_on_this_machine: ceiling(perReport.verification + perReport.desktop_main_thread + perReport.broker + perReport.publishers),
        desktop_only_broker_and_cameras_elsewhere: ceiling(perReport.verification + perReport.desktop_main_thread),
        verification_alone: ceiling(perReport.verification),
      },
      note:
        `publish -> verified, fused and on the timeline through the app's wiring (${broker === 'mosquitto' ? 'Debian mosquitto as the external broker' : 'the embedded aedes broker on its own thread in the desktop process'}; ${WORKERS} verification worker thread(s)). ` +
        `${published.length} detections published, ${measured} after the ${WARMUP_S} s warm-up, ${lat.length} of those reached the timeline; ${counts.accepted} accepted in all; ` +
        `refused: ${refused.length ? refused.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}; shed by the desktop (waited > 1 s or queue full) ${link.dropped()}, dropped by the embedded broker ${brokerDropped}; ` +
        `${confirmed} events confirmed; ${stageMs.commits} swarm commits; main-thread time in the swarm's commits ${Math.round(stageMs.swarm)} ms (the timeline's share ${Math.round(stageMs.timeline)} ms); ` +
        `publishers' process CPU ${Math.round(publisherCpuMs)} ms over the whole publishing phase; event-loop delay p99 ${round(loop.percentile(99) / 1e6, 2)} ms; loadavg before ${load0}, after ${fs.readFileSync('/proc/loadavg', 'utf8').trim()} (${os.availableParallelism()} cores).`,
    };
  } finally {
    clearInterval(ticker);
    if (child.exitCode === null) child.kill();
    link.close();
    offTimeline();
    await pool.close();
    await replayWriter.close();
    await service.close();
    mosq?.proc.kill();
    timeline.close();
    swarm.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs: Record<string, unknown>[] = [];
  for (const b of BROKERS) {
    const r = await run(b, CAMERAS);
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    runs.push(r);
  }
  // The ceiling: the highest offered rate (through the first broker) that is still handled whole
  // (≥ 99 % reach the timeline) with p99 < 50 ms. BENCH_SWEEP = reports/s to try, e.g. "2000,4000,6000,8000".
  const sweep: Record<string, unknown>[] = [];
  for (const perS of (process.env.BENCH_SWEEP ?? '').split(',').map(Number).filter((x) => x > 0)) {
    const r = await run(BROKERS[0] ?? 'mosquitto', Math.max(1, Math.round(perS / RATE_HZ)));
    const { note: _note, ...short } = r;
    process.stdout.write(`${JSON.stringify(short)}\n`);
    sweep.push(short);
  }
  const meets = (r: Record<string, unknown>): boolean => (r.handled_share as number) >= 0.99 && typeof r.latency_p99_ms === 'number' && r.latency_p99_ms < 50;
  const ok = sweep.filter(meets).map((r) => r.offered_per_s as number);
  const first = runs[0] ?? {};
  const result = {
    // The first run (mosquitto by default) as the headline; every run in `runs`.
    ...first,
    runs,
    ...(sweep.length ? { sweep, ceiling_per_s: ok.length ? Math.max(...ok) : 0, ceiling_rule: 'highest offered reports/s with >= 99 % handled and p99 < 50 ms' } : {}),
  };
  fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench-results/detections.json'), `${JSON.stringify(result, null, 2)}\n`);
}

const i = process.argv.indexOf('--publishers');
(i >= 0 ? publishers(Number(process.argv[i + 1]), Number(process.argv[i + 2])) : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-detections failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
