// Swarm benchmarks → bench-results/swarm.json. Fusion compute per report at 10/100/500 cameras,
// Ed25519 report verifications per second (the whole verify path), the time from a heartbeat
// timeout expiring to the re-formed topology at 500 cameras, camera publish → confirmed event over
// MQTT with 100 cameras (scripts/lib/swarm-e2e.ts), and the Swarm graph's redraws per second with
// 500 cameras in Chromium. `--only e2e,graph` runs a subset and keeps the other figures.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { graphFps, mqttEndToEnd } from './lib/swarm-e2e';
import { waitForQuiet, type Quiet } from './lib/settle.mjs';
import { createFusion, type Zone } from '../main/swarm/fusion';
import { mulberry32, randInt } from '../main/swarm/prng';
import { sealEnvelope, simKey } from '../main/swarm/sim/keys';
import { createTopology } from '../main/swarm/topology';
import { createVerifier } from '../main/swarm/verify';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const hr = (): number => Number(process.hrtime.bigint()) / 1e3; // µs

function fusionP99(cameras: number): number {
  const rnd = mulberry32(cameras);
  const zoneCount = Math.max(2, Math.floor(cameras / 5));
  const zones: Zone[] = Array.from({ length: zoneCount }, (_, i) => ({ id: `Z${i}`, polygon: [{ x: i, y: 0 }, { x: i + 1, y: 0 }, { x: i + 1, y: 1 }, { x: i, y: 1 }] }));
  let clock = 0;
  const f = createFusion({ zones, now: () => clock });
  for (let c = 0; c < cameras; c++) {
    const z = c % zoneCount;
    const z2 = (z + 1) % zoneCount; // each camera sees its zone and the next one
    f.setCamera(`C${c}`, { zones: [`Z${z}`, `Z${z2}`], toGround: (b) => ({ x: ((b.left + b.right) / 2 < 0.5 ? z : z2) + (b.left + b.right), y: (b.top + b.bottom) / 2 }) });
  }
  // 10 reports/s per camera for 30 simulated seconds, 0–3 observations each.
  const reportsPerMs = cameras / 100;
  const total = Math.min(150_000, cameras * 300);
  const samples: number[] = [];
  const classes = ['Human', 'Car', 'Bike'] as const;
  for (let i = 0; i < total; i++) {
    clock = Math.floor(i / reportsPerMs);
    const cam = i % cameras;
    const obs = Array.from({ length: randInt(rnd, 0, 3) }, (_, k) => {
      const cx = 0.05 + 0.9 * rnd();
      return { box: { left: cx - 0.02, right: cx + 0.02, top: 0.4, bottom: 0.6 }, cls: classes[k % 3]!, trackId: `${cam}-${k}`, ts: clock };
    });
    const t0 = hr();
    f.ingest({ camera: `C${cam}`, seq: i, frameTs: clock, receivedAt: clock, raw: `r${i}`, observations: obs });
    const dt = hr() - t0;
    if (i > total / 10) samples.push(dt); // skip warm-up
    if (i % cameras === 0) f.tick();
  }
  return Math.round(pct(samples, 99) * 100) / 100;
}

function verifyPerSecond(): number {
  const cams = Array.from({ length: 20 }, (_, i) => `B8A44F${String(i + 1).padStart(6, '0')}`);
  const keys = new Map(cams.map((c) => [c, { keyId: simKey(c).keyId, publicKey: simKey(c).publicKey }]));
  const t = 1_795_222_210_000;
  const body = JSON.stringify({ frame: { timestamp: t, observations: [{ bounding_box: { left: 0.41, top: 0.22, right: 0.47, bottom: 0.61 }, class: { type: 'Human', score: 0.87 }, track_id: '17', timestamp: t }] }, stats: { inference_ms: 17.9, fps_camera: 10, fps_processed: 10, fps_skipped: 0 } });
  const N = 4_000;
  const msgs = Array.from({ length: N }, (_, i) => sealEnvelope({ camera: cams[i % cams.length]!, seq: Math.floor(i / cams.length) + 1, sent: t, kind: 'detections', key: simKey(cams[i % cams.length]!).keyId, body }, simKey(cams[i % cams.length]!).privateKey));
  const v = createVerifier({ keys: { get: (id) => keys.get(id) } });
  const t0 = performance.now();
  let ok = 0;
  for (const m of msgs) if (v.verify(m, t).ok) ok++;
  const secs = (performance.now() - t0) / 1000;
  if (ok !== N) throw new Error(`only ${ok} of ${N} verified`);
  return Math.round(N / secs);
}

/** Simulated time from the heartbeat timeout expiring to the new topology, plus the wall time of the re-forming tick. */
function reconfigureMs(): { ms: number; computeMs: number; tickMs: number; intervalMs: number } {
  const interval = 1_000;
  const tickMs = interval / 4; // as the service ticks
  let worst = 0;
  let worstCompute = 0;
  for (let trial = 0; trial < 8; trial++) {
    let clock = 0;
    const topo = createTopology({ now: () => clock, heartbeatIntervalMs: interval, missedHeartbeats: 3 });
    const ids = Array.from({ length: 500 }, (_, i) => `C${i}`);
    ids.forEach((id, i) => topo.join(id, [`Z${i % 100}`]));
    topo.tick();
    const victim = topo.graph().heads[trial]!;
    const failAt = 2_000 + trial * 37; // last heartbeat from the victim, off the tick grid
    const phase = (trial * 53) % interval;
    for (clock = 0; clock <= 10_000; clock += 1) {
      if ((clock - phase) % interval === 0) for (const id of ids) if (id !== victim || clock <= failAt) topo.heartbeat(id, clock);
      if (clock === failAt) topo.heartbeat(victim, clock);
      if (clock % tickMs !== 0) continue;
      const t0 = performance.now();
      const c = topo.tick();
      const compute = performance.now() - t0;
      if (c.failed.includes(victim)) {
        if (c.graph.heads.includes(victim)) throw new Error('the failed head is still a head');
        const expiry = Math.max(failAt, 0) + 3 * interval;
        worst = Math.max(worst, clock - expiry + compute);
        worstCompute = Math.max(worstCompute, compute);
        break;
      }
    }
  }
  return { ms: Math.round(worst * 10) / 10, computeMs: Math.round(worstCompute * 100) / 100, tickMs, intervalMs: interval };
}

const { values: args } = parseArgs({ options: { only: { type: 'string' }, 'e2e-cameras': { type: 'string', default: '100' }, 'e2e-seconds': { type: 'string', default: '20' } }, strict: true });
const only = new Set((args.only ?? 'fusion,verify,reconfigure,e2e,graph').split(','));
const out = path.join(process.cwd(), 'bench-results', 'swarm.json');
const prev = (fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : {}) as Record<string, unknown>;
const notes = (prev.notes_by_figure ?? {}) as Record<string, string>;

let failed = false;
async function main(): Promise<void> {
  const result: Record<string, unknown> = { ...prev };
  if (only.has('fusion')) {
    result.fusion_p99_us = { '10': fusionP99(10), '100': fusionP99(100), '500': fusionP99(500) };
    notes.fusion_p99_us = 'wall-clock per-report fusion compute (zone mapping, equivocation index, candidate update), 10 reports/s per camera, 0-3 observations each, 5 cameras per zone.';
  }
  if (only.has('verify')) {
    result.verify_per_s = verifyPerSecond();
    notes.verify_per_s = 'full verify path (size, JSON, envelope, key, skew, replay window, Ed25519, body schema) on one core.';
  }
  if (only.has('reconfigure')) {
    const reconf = reconfigureMs();
    result.reconfigure_ms = reconf.ms;
    notes.reconfigure_ms = `worst over 8 trials at 500 cameras of (tick that publishes the re-formed topology view - heartbeat timeout expiry) + that tick's compute (${reconf.computeMs} ms); ticks run every ${reconf.tickMs} ms (heartbeat ${reconf.intervalMs} ms, timeout 3 intervals); target < interval + 100 ms. The topology is a view of coverage and link health (no report is routed through a head), so this is how fast the view follows a failure.`;
  }
  // A figure that cannot be measured is written as null with the reason; the run still fails.
  const quiet: Record<string, Quiet> = {};
  const attempt = async (key: string, run: () => Promise<{ value: number; note: string }>): Promise<void> => {
    // The in-process figures above leave garbage and warm threads behind; an end-to-end figure
    // measured on their tail measures them. Wait for a quiet machine (at most 30 s) and keep what was found.
    quiet[key] = await waitForQuiet({ threshold: Number(process.env.BENCH_SETTLE_BUSY ?? 20) / 100, maxMs: 30_000 });
    try {
      const r = await run();
      result[key] = r.value;
      notes[key] = r.note;
    } catch (err) {
      failed = true;
      result[key] = null;
      notes[key] = `not measured: ${(err as Error).message}`;
    }
  };
  if (only.has('e2e'))
    // Other sizes are for checking the harness on a busy machine; the figure the issue names is 100 cameras.
    await attempt('e2e_p99_ms', async () => {
      const e = await mqttEndToEnd({ cameras: Number(args['e2e-cameras']), seconds: Number(args['e2e-seconds']), reportsPerSecond: 10 });
      return { value: e.p99, note: e.note };
    });
  if (only.has('graph'))
    await attempt('graph_fps_500', async () => {
      const g = await graphFps({ cameras: 500, seconds: 10 });
      return { value: g.fps, note: g.note };
    });
  delete result.notes;
  result.notes_by_figure = notes;
  if (Object.keys(quiet).length) result.machine_before_figure = { ...((prev.machine_before_figure ?? {}) as Record<string, Quiet>), ...quiet };
  result.load = `loadavg at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()} (2 cores, shared)`;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

main().then(
  () => process.exit(failed ? 1 : 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
