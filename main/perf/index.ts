// The performance monitor: Prometheus metrics, SLO error budgets with burn-rate alerts, a
// bottleneck finder, and the series the Performance view charts. Other services feed it through
// recordCameraStats / recordBytes / recordReport / recordFusion / setIngestQueue.
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { perfSeriesNames, type PerfAlert } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import type { Logger } from '../kernel/logger';
import { findBottlenecks, FRIGATE_INFERENCE_ERROR_MS, FRIGATE_INFERENCE_WARN_MS, type StageSample, type StageSeries } from './bottleneck';
import { createMetrics, type PerfMetrics } from './metrics';
import { BucketSeries, evaluateSlo, healthScore, type BudgetState, type SloSpec } from './slo';

export { findBottlenecks } from './bottleneck';
export { BucketSeries, burnRate, evaluateSlo, healthScore } from './slo';

type SeriesName = (typeof perfSeriesNames)[number];

export interface CameraStatsInput {
  inferenceMs: number;
  fpsCamera: number;
  fpsProcessed: number;
  fpsSkipped: number;
}

/** Host readings, injectable so tests do not depend on the machine. */
export interface HostProbe {
  cpu(): number;
  memory(): { total: number; available: number };
  disk(dir: string): Promise<{ total: number; available: number }>;
  eventLoop(): { p50: number; p99: number; max: number; utilization: number };
}

export interface PerfServiceDeps {
  bus: EventBus;
  log: Logger;
  now: () => number;
  dataDir: string;
  every?: (ms: number, fn: () => void) => () => void;
  probe?: HostProbe;
  sampleEveryMs?: number;
}

export interface PerfService {
  metrics: PerfMetrics;
  recordCameraStats(camera: string, s: CameraStatsInput): void;
  recordBytes(camera: string, bytes: number): void;
  recordReport(result: string): void;
  recordFusion(seconds: number, openCandidates: number): void;
  setIngestQueue(depth: number): void;
  /** One host sample and one evaluation (the timer calls it; tests call it directly). */
  sample(): Promise<void>;
  evaluate(): { score: number; budgets: BudgetState[]; alerts: PerfAlert[] };
  /** The `/metrics` handler; the lead wires it with web-server's addTokenRoute('/metrics', …). */
  metricsRoute(): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  handlers: Handlers;
  close(): void;
}

export const SLOS: readonly SloSpec[] = [
  { name: 'inference_latency', description: 'Camera frames inferred within 100 ms (Frigate error threshold)', objective: 0.99 },
  { name: 'frames_processed', description: 'Captured frames the detector processed (not skipped)', objective: 0.99 },
  { name: 'fusion_latency', description: 'Reports fused within 1 ms', objective: 0.999 },
  { name: 'event_loop', description: 'Samples with event-loop delay p99 under 100 ms', objective: 0.99 },
];
const BUDGET_PERIOD_MS = 24 * 3_600_000;
const POINT_EVERY_MS = 5_000;
const SERIES_POINTS = 720;
const STAGE_KEEP_MS = 10 * 60_000;

/** Fixed-size ring of [t, v] points. */
class Ring {
  private readonly ts = new Float64Array(SERIES_POINTS);
  private readonly vs = new Float64Array(SERIES_POINTS);
  private n = 0;
  private head = 0;
  push(t: number, v: number): void {
    this.ts[this.head] = t;
    this.vs[this.head] = v;
    this.head = (this.head + 1) % SERIES_POINTS;
    if (this.n < SERIES_POINTS) this.n++;
  }
  since(t0: number): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.n; i++) {
      const k = (this.head - this.n + i + SERIES_POINTS) % SERIES_POINTS;
      if (this.ts[k]! >= t0) out.push([this.ts[k]!, this.vs[k]!]);
    }
    return out;
  }
}

export function nodeHostProbe(): HostProbe & { close(): void } {
  const eld = monitorEventLoopDelay({ resolution: 20 });
  eld.enable();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let prevCpu = os.cpus().map((c) => c.times);
  return {
    cpu() {
      const cur = os.cpus().map((c) => c.times);
      let busy = 0;
      let all = 0;
      cur.forEach((t, i) => {
        const p = prevCpu[i] ?? { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 };
        const d = { user: t.user - p.user, nice: t.nice - p.nice, sys: t.sys - p.sys, idle: t.idle - p.idle, irq: t.irq - p.irq };
        busy += d.user + d.nice + d.sys + d.irq;
        all += d.user + d.nice + d.sys + d.irq + d.idle;
      });
      prevCpu = cur;
      return all > 0 ? busy / all : 0;
    },
    memory: () => ({ total: os.totalmem(), available: os.freemem() }),
    async disk(dir) {
      const s = await fs.promises.statfs(dir);
      return { total: s.blocks * s.bsize, available: s.bavail * s.bsize };
    },
    eventLoop() {
      const r = { p50: eld.percentile(50) / 1e9, p99: eld.percentile(99) / 1e9, max: eld.max / 1e9, utilization: 0 };
      eld.reset();
      const next = performance.eventLoopUtilization();
      r.utilization = performance.eventLoopUtilization(next, elu).utilization;
      elu = next;
      return r;
    },
    close: () => eld.disable(),
  };
}

const defaultEvery = (ms: number, fn: () => void): (() => void) => {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
};

export function createPerfService(deps: PerfServiceDeps): PerfService {
  const { bus, log, now } = deps;
  const metrics = createMetrics();
  let cpuPrev = process.cpuUsage();
  const ownProbe = deps.probe ? undefined : nodeHostProbe();
  const probe: HostProbe = deps.probe ?? ownProbe!;
  const sampleEvery = deps.sampleEveryMs ?? POINT_EVERY_MS;
  const slo = new Map(SLOS.map((s) => [s.name, new BucketSeries(30_000, BUDGET_PERIOD_MS)]));
  const series = new Map<SeriesName, Map<string, Ring>>();
  const point = (name: SeriesName, label: string, t: number, v: number): void => {
    let m = series.get(name);
    if (!m) series.set(name, (m = new Map()));
    let r = m.get(label);
    if (!r) m.set(label, (r = new Ring()));
    r.push(t, v);
  };
  const cameras = new Map<string, { lastPoint: number; last?: CameraStatsInput; skippedTotal: number; lastT: number; stage: StageSample[]; bytes: number }>();
  const coordinatorStage: StageSample[] = [];
  const loopStage: StageSample[] = [];
  let fusionBusy = 0;
  let fusionCount = 0;
  let fusionMax = 0;
  let ingestQueue = 0;
  let lastSample = now();
  const alerts = new Map<string, PerfAlert>();

  const cam = (id: string) => {
    let c = cameras.get(id);
    if (!c) cameras.set(id, (c = { lastPoint: -Infinity, skippedTotal: 0, lastT: now(), stage: [], bytes: 0 }));
    return c;
  };
  const trim = (xs: StageSample[], t: number): void => {
    while (xs.length && xs[0]!.t < t - STAGE_KEEP_MS) xs.shift();
  };

  const recordCameraStats = (camera: string, s: CameraStatsInput): void => {
    const t = now();
    const c = cam(camera);
    // A camera reports inference_ms 0 until its detector has run once: that is "no reading", not
    // a 0 ms inference, so it must not pull the chart, the histogram or the SLO towards zero.
    const inferred = s.inferenceMs > 0;
    if (inferred) metrics.inference.observe({ camera }, s.inferenceMs / 1000);
    metrics.fps.set({ camera, stage: 'camera' }, s.fpsCamera);
    metrics.fps.set({ camera, stage: 'processed' }, s.fpsProcessed);
    metrics.fps.set({ camera, stage: 'skipped' }, s.fpsSkipped);
    if (inferred) slo.get('inference_latency')!.add(t, s.inferenceMs <= FRIGATE_INFERENCE_ERROR_MS ? 1 : 0, 1);
    // Before its detector has run once a camera has processed nothing yet: not a lost frame.
    if (inferred && s.fpsCamera > 0) slo.get('frames_processed')!.add(t, Math.min(s.fpsProcessed, s.fpsCamera), s.fpsCamera);
    c.skippedTotal += (s.fpsSkipped * Math.max(0, t - c.lastT)) / 1000;
    c.lastT = t;
    c.last = s;
    // Charts and stage samples are downsampled: a camera reports ten times a second.
    if (t - c.lastPoint >= POINT_EVERY_MS) {
      c.lastPoint = t;
      if (inferred) point('inference_ms', camera, t, s.inferenceMs);
      point('fps_camera', camera, t, s.fpsCamera);
      point('fps_processed', camera, t, s.fpsProcessed);
      point('fps_skipped', camera, t, s.fpsSkipped);
      c.stage.push({ t, utilisation: (s.inferenceMs * s.fpsCamera) / 1000, queue: c.skippedTotal });
      trim(c.stage, t);
    }
  };

  const currentAlerts = (t: number, budgets: readonly BudgetState[]): PerfAlert[] => {
    const firing: PerfAlert[] = [];
    for (const b of budgets) {
      if (b.fast)
        firing.push({ id: `burn_fast:${b.slo}`, at: t, severity: 'critical', kind: 'burn_fast', subject: b.slo, message: `${b.description}: error budget burning ${b.burn['1h'].toFixed(1)}× (1 h) and ${b.burn['5m'].toFixed(1)}× (5 min), over the 14.4× fast-burn limit.` });
      else if (b.slow)
        firing.push({ id: `burn_slow:${b.slo}`, at: t, severity: 'warning', kind: 'burn_slow', subject: b.slo, message: `${b.description}: error budget burning ${b.burn['6h'].toFixed(1)}× (6 h) and ${b.burn['30m'].toFixed(1)}× (30 min), over the 6× slow-burn limit.` });
    }
    for (const [id, c] of cameras) {
      const s = c.last;
      if (!s) continue;
      if (s.inferenceMs > FRIGATE_INFERENCE_WARN_MS)
        firing.push({
          id: `inference_slow:${id}`,
          at: t,
          severity: s.inferenceMs > FRIGATE_INFERENCE_ERROR_MS ? 'critical' : 'warning',
          kind: 'inference_slow',
          subject: id,
          message: `Camera ${id} takes ${s.inferenceMs.toFixed(0)} ms per inference (over ${s.inferenceMs > FRIGATE_INFERENCE_ERROR_MS ? FRIGATE_INFERENCE_ERROR_MS : FRIGATE_INFERENCE_WARN_MS} ms): use a smaller model or a lower frame rate.`,
        });
      if (s.fpsSkipped > 0)
        firing.push({ id: `detector_skipping:${id}`, at: t, severity: 'warning', kind: 'detector_skipping', subject: id, message: `Camera ${id} skips ${s.fpsSkipped} frames/s: its detector cannot keep up. Lower its frame rate or use a smaller model.` });
    }
    return firing;
  };

  const evaluate = () => {
    const t = now();
    const budgets = SLOS.map((s) => evaluateSlo(s, slo.get(s.name)!, t, BUDGET_PERIOD_MS));
    const score = healthScore(budgets);
    metrics.healthScore.set(score);
    const firing = currentAlerts(t, budgets);
    const ids = new Set(firing.map((a) => a.id));
    for (const id of [...alerts.keys()]) if (!ids.has(id)) alerts.delete(id);
    for (const a of firing) {
      if (alerts.has(a.id)) continue; // already told; say it again only after it cleared
      alerts.set(a.id, a);
      bus.publish('perf.alert', a);
      bus.publish('app.notification', { title: a.kind.startsWith('burn') ? 'Fleet health is dropping' : 'Detector too slow', body: a.message, severity: a.severity });
    }
    return { score, budgets, alerts: [...alerts.values()] };
  };

  const sample = async (): Promise<void> => {
    const t = now();
    const dt = Math.max(1, t - lastSample);
    lastSample = t;
    const cpu = probe.cpu();
    const mem = probe.memory();
    const loop = probe.eventLoop();
    metrics.hostCpu.set(cpu);
    metrics.hostMemory.set({ kind: 'total' }, mem.total);
    metrics.hostMemory.set({ kind: 'available' }, mem.available);
    metrics.eventLoopDelay.set({ percentile: '50' }, loop.p50);
    metrics.eventLoopDelay.set({ percentile: '99' }, loop.p99);
    metrics.eventLoopDelay.set({ percentile: '100' }, loop.max);
    const cpuNow = process.cpuUsage();
    metrics.processCpu.inc((cpuNow.user - cpuPrev.user + cpuNow.system - cpuPrev.system) / 1e6);
    cpuPrev = cpuNow;
    const mu = process.memoryUsage();
    metrics.processMemory.set({ kind: 'rss' }, mu.rss);
    metrics.processMemory.set({ kind: 'heap_used' }, mu.heapUsed);
    metrics.eventLoopUtilization.set(loop.utilization);
    point('cpu_utilization', 'host', t, cpu);
    point('memory_rss_bytes', 'main', t, mu.rss);
    point('event_loop_delay_ms', 'p99', t, loop.p99 * 1000);
    point('event_loop_utilization', 'main', t, loop.utilization);
    slo.get('event_loop')!.add(t, loop.p99 <= 0.1 ? 1 : 0, 1);
    point('fusion_latency_us', 'max', t, fusionMax * 1e6);
    point('fusion_latency_us', 'mean', t, fusionCount ? (fusionBusy / fusionCount) * 1e6 : 0);
    coordinatorStage.push({ t, utilisation: fusionBusy / (dt / 1000), queue: ingestQueue });
    loopStage.push({ t, utilisation: loop.utilization, queue: ingestQueue });
    trim(coordinatorStage, t);
    trim(loopStage, t);
    for (const [id, c] of cameras) {
      point('bandwidth_bytes_per_s', id, t, (c.bytes * 1000) / dt);
      c.bytes = 0;
    }
    fusionBusy = 0;
    fusionCount = 0;
    fusionMax = 0;
    try {
      const d = await probe.disk(deps.dataDir);
      metrics.dataDisk.set({ kind: 'total' }, d.total);
      metrics.dataDisk.set({ kind: 'available' }, d.available);
    } catch (err) {
      log.warn({ err, dir: deps.dataDir }, 'could not read the data folder file system');
    }
    evaluate();
  };

  const stageSeries = (): StageSeries[] => [
    ...[...cameras.entries()].map(([id, c]) => ({ stage: 'camera_inference' as const, subject: `camera ${id}`, samples: c.stage, inferenceMs: c.last?.inferenceMs })),
    { stage: 'coordinator_fusion' as const, subject: 'coordinator', samples: coordinatorStage },
    { stage: 'event_loop' as const, subject: 'main process', samples: loopStage },
  ];

  const stop = (deps.every ?? defaultEvery)(sampleEvery, () => {
    sample().catch((err: unknown) => log.warn({ err }, 'performance sample failed'));
  });

  return {
    metrics,
    recordCameraStats,
    recordBytes(camera, bytes) {
      metrics.receivedBytes.inc({ camera }, bytes);
      cam(camera).bytes += bytes;
    },
    recordReport: (result) => metrics.reports.inc({ result }),
    recordFusion(seconds, open) {
      metrics.fusionLatency.observe(seconds);
      metrics.queueDepth.set({ queue: 'fusion_open' }, open);
      slo.get('fusion_latency')!.add(now(), seconds <= 0.001 ? 1 : 0, 1);
      fusionBusy += seconds;
      fusionCount++;
      if (seconds > fusionMax) fusionMax = seconds;
    },
    setIngestQueue(depth) {
      ingestQueue = depth;
      metrics.queueDepth.set({ queue: 'ingest' }, depth);
    },
    sample,
    evaluate,
    metricsRoute: () => async (_req, res) => {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
      res.end(body);
    },
    handlers: {
      'perf.health': () => {
        const r = evaluate();
        return { score: r.score, budgets: r.budgets.map(({ slo: s, description, objective, remaining, burn }) => ({ slo: s, description, objective, remaining, burn })), alerts: r.alerts };
      },
      'perf.series': ({ metric, camera, sinceMs }) => {
        const t0 = now() - sinceMs;
        const m = series.get(metric) ?? new Map<string, Ring>();
        const lines = [...m.entries()].filter(([label]) => !camera || label === camera).map(([label, r]) => ({ label, points: r.since(t0) }));
        return { metric, lines };
      },
      'perf.bottlenecks': () => ({ bottlenecks: findBottlenecks(stageSeries(), now()) }),
    },
    close() {
      stop();
      ownProbe?.close();
    },
  };
}
