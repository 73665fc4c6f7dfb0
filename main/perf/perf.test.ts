import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createEventBus, type AnyEvent } from '../kernel/bus';
import { findBottlenecks, queueSlopePerMin } from './bottleneck';
import { createPerfService, type HostProbe } from './index';
import { BucketSeries, burnRate, evaluateSlo, healthScore } from './slo';

const MIN = 60_000;

describe('SLO burn rates', () => {
  const spec = { name: 'x', description: 'x', objective: 0.99 };
  it('burn rate is the error rate over the budget; windows see only their own buckets', () => {
    const s = new BucketSeries(30_000, 24 * 60 * MIN);
    for (let t = 0; t < 60 * MIN; t += 30_000) s.add(t, 99, 100); // 1% errors: burning exactly 1×
    expect(burnRate(s, 60 * MIN - 1, 60 * MIN, 0.99)).toBeCloseTo(1);
    for (let t = 60 * MIN; t < 65 * MIN; t += 30_000) s.add(t, 0, 100); // 5 bad minutes
    expect(burnRate(s, 65 * MIN - 1, 5 * MIN, 0.99)).toBeCloseTo(100);
    expect(burnRate(s, 65 * MIN - 1, 60 * MIN, 0.99)).toBeGreaterThan(8);
  });

  it('fast alert needs both 1 h and 5 min over 14.4×; a short spike alone does not page', () => {
    const s = new BucketSeries(30_000, 24 * 60 * MIN);
    for (let t = 0; t < 120 * MIN; t += 30_000) s.add(t, 100, 100);
    for (let t = 120 * MIN; t < 122 * MIN; t += 30_000) s.add(t, 0, 100); // 2-minute outage
    let st = evaluateSlo(spec, s, 122 * MIN - 1, 24 * 60 * MIN);
    expect(st.burn['5m']).toBeGreaterThan(14.4);
    expect(st.fast).toBe(false); // the hour has not burned at 14.4×
    for (let t = 122 * MIN; t < 140 * MIN; t += 30_000) s.add(t, 50, 100);
    st = evaluateSlo(spec, s, 140 * MIN - 1, 24 * 60 * MIN);
    expect(st.fast).toBe(true);
    // 2,200 bad of 28,000 events in 140 min; projected over 24 h the budget allows 1% of 288,000.
    expect(st.remaining).toBeCloseTo(1 - 2200 / 2880, 3);
    expect(healthScore([st])).toBe(24);
  });

  it('health score is the weakest budget, capped while an alert fires', () => {
    const ok = { slo: 'a', description: '', objective: 0.99, remaining: 0.9, burn: { '5m': 0, '30m': 0, '1h': 0, '6h': 0 }, fast: false, slow: false };
    expect(healthScore([ok, { ...ok, remaining: 0.5 }])).toBe(50);
    expect(healthScore([ok, { ...ok, slow: true }])).toBe(70);
    expect(healthScore([])).toBe(100);
  });
});

describe('bottleneck finder', () => {
  it('names the busy stage whose queue grows, with the lever', () => {
    const samples = (util: number, growth: number) => Array.from({ length: 10 }, (_, i) => ({ t: i * 10_000, utilisation: util, queue: i * growth }));
    const found = findBottlenecks(
      [
        { stage: 'camera_inference', subject: 'camera A', samples: samples(0.97, 5), inferenceMs: 90 },
        { stage: 'camera_inference', subject: 'camera B', samples: samples(0.97, 0) }, // busy but keeping up
        { stage: 'coordinator_fusion', subject: 'coordinator', samples: samples(0.3, 5) }, // queue grows, not busy
        { stage: 'event_loop', subject: 'main', samples: samples(0.95, 2) },
      ],
      90_000,
    );
    expect(found.map((b) => [b.subject, b.lever])).toEqual([
      ['camera A', 'smaller_model'],
      ['main', 'fewer_streams'],
    ]);
    expect(queueSlopePerMin(samples(1, 5))).toBeCloseTo(30);
  });
});

const probe: HostProbe = {
  cpu: () => 0.25,
  memory: () => ({ total: 8e9, available: 3e9 }),
  disk: async () => ({ total: 1e11, available: 4e10 }),
  eventLoop: () => ({ p50: 0.001, p99: 0.004, max: 0.01, utilization: 0.2 }),
};

function setup() {
  let clock = 1_000_000;
  const bus = createEventBus();
  const events: AnyEvent[] = [];
  bus.subscribeAll((e) => events.push(e));
  const perf = createPerfService({ bus, log: pino({ level: 'silent' }), now: () => clock, dataDir: '/tmp', every: () => () => {}, probe });
  return { perf, events, advance: (ms: number) => (clock += ms) };
}

describe('performance service', () => {
  it('applies Frigate thresholds and alerts once through the bus until it clears', async () => {
    const { perf, events, advance } = setup();
    // Burn-rate alerts need their short window observed: one healthy frame, then six minutes on.
    perf.recordCameraStats('CAM0', { inferenceMs: 10, fpsCamera: 1, fpsProcessed: 1, fpsSkipped: 0 });
    advance(6 * 60_000);
    perf.recordCameraStats('CAM1', { inferenceMs: 120, fpsCamera: 10, fpsProcessed: 6, fpsSkipped: 4 });
    perf.recordCameraStats('CAM2', { inferenceMs: 60, fpsCamera: 10, fpsProcessed: 10, fpsSkipped: 0 });
    await perf.sample();
    advance(5_000);
    await perf.sample();
    const alerts = events.filter((e) => e.topic === 'perf.alert').map((e) => (e.topic === 'perf.alert' ? `${e.payload.kind}:${e.payload.subject}:${e.payload.severity}` : ''));
    // 4 of 20 frames skipped is a 20× burn of the 1% budget (20 frames pass the minimum traffic);
    // one slow frame in two does not (2 events are below the minimum).
    expect(alerts.sort()).toEqual(['burn_fast:frames_processed:critical', 'detector_skipping:CAM1:warning', 'inference_slow:CAM1:critical', 'inference_slow:CAM2:warning']);
    expect(events.filter((e) => e.topic === 'app.notification')).toHaveLength(4);
    perf.recordCameraStats('CAM2', { inferenceMs: 20, fpsCamera: 10, fpsProcessed: 10, fpsSkipped: 0 });
    expect(perf.evaluate().alerts.map((a) => a.subject)).not.toContain('CAM2');
    perf.close();
  });

  it('health drops when fusion misses its 1 ms objective, and series feed the charts', async () => {
    const { perf, advance } = setup();
    const call = <T>(name: keyof typeof perf.handlers, input: unknown): T => (perf.handlers[name] as (i: unknown, c: unknown) => T)(input, {});
    expect(call<{ score: number }>('perf.health', {}).score).toBe(100);
    perf.recordFusion(0.00005, 1);
    advance(6 * 60_000); // burn-rate alerts need their short window observed
    for (let i = 0; i < 1_000; i++) perf.recordFusion(i % 10 === 0 ? 0.005 : 0.00005, 3); // 10% over 1 ms vs 0.1% allowed
    await perf.sample();
    const h = call<{ score: number; alerts: { kind: string }[] }>('perf.health', {});
    expect(h.score).toBeLessThanOrEqual(40);
    expect(h.alerts.map((a) => a.kind)).toContain('burn_fast');
    advance(5_000);
    await perf.sample();
    const s = call<{ lines: { label: string; points: [number, number][] }[] }>('perf.series', { metric: 'cpu_utilization', sinceMs: 60_000 });
    expect(s.lines[0]!.points).toHaveLength(2);
    expect(s.lines[0]!.points[0]![1]).toBe(0.25);
    perf.close();
  });

  it('charts what the Performance view plots: real inference ms, bytes/s per camera, fusion in µs', async () => {
    const { perf, advance } = setup();
    const call = <T>(name: keyof typeof perf.handlers, input: unknown): T => (perf.handlers[name] as (i: unknown, c: unknown) => T)(input, {});
    type Lines = { lines: { label: string; points: [number, number][] }[] };
    // A camera's first reports carry inference_ms 0 (its detector has not run yet): no reading.
    perf.recordCameraStats('CAM1', { inferenceMs: 0, fpsCamera: 10, fpsProcessed: 0, fpsSkipped: 0 });
    expect(call<Lines>('perf.series', { metric: 'inference_ms', sinceMs: 60_000 }).lines).toEqual([]);
    expect(call<Lines>('perf.series', { metric: 'fps_camera', sinceMs: 60_000 }).lines[0]!.points).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      advance(5_000);
      perf.recordCameraStats('CAM1', { inferenceMs: 17 + i, fpsCamera: 10, fpsProcessed: 10, fpsSkipped: 0 });
      perf.recordBytes('CAM1', 10_240);
      perf.recordFusion(0.00004, 1);
      await perf.sample();
    }
    const inf = call<Lines>('perf.series', { metric: 'inference_ms', sinceMs: 60_000 });
    expect(inf.lines.map((l) => l.label)).toEqual(['CAM1']);
    expect(inf.lines[0]!.points.map((p) => p[1])).toEqual([17, 18, 19]);
    const bw = call<Lines>('perf.series', { metric: 'bandwidth_bytes_per_s', sinceMs: 60_000 });
    expect(bw.lines[0]!.points.at(-1)![1]).toBeCloseTo(10_240 / 5); // 10 KiB over 5 s
    const fusion = call<Lines>('perf.series', { metric: 'fusion_latency_us', sinceMs: 60_000 });
    expect(fusion.lines.find((l) => l.label === 'mean')!.points.at(-1)![1]).toBeCloseTo(40);
    // The zero placeholder did not count as a fast inference either.
    expect(await perf.metrics.registry.getSingleMetricAsString('omnisight_camera_inference_seconds')).toContain('omnisight_camera_inference_seconds_count{camera="CAM1"} 3');
    perf.close();
  });

  it('exposes valid Prometheus text (promtool check metrics)', async () => {
    const { perf } = setup();
    perf.recordCameraStats('B8A44F000001', { inferenceMs: 18, fpsCamera: 10, fpsProcessed: 10, fpsSkipped: 0 });
    perf.recordBytes('B8A44F000001', 512);
    perf.recordReport('accepted');
    perf.recordFusion(0.00004, 2);
    perf.setIngestQueue(1);
    await perf.sample();
    let body = '';
    let type = '';
    const res = {
      writeHead: (_s: number, h: Record<string, string>) => (type = h['Content-Type']!),
      end: (b: string) => (body = b),
    };
    await perf.metricsRoute()({} as never, res as never);
    expect(type).toMatch(/^text\/plain/);
    expect(body).toContain('omnisight_swarm_fusion_latency_seconds_bucket');
    expect(body).toContain('omnisight_camera_frames_per_second{camera="B8A44F000001",stage="processed"} 10');
    expect(body).toContain('omnisight_data_disk_bytes{kind="available"} 40000000000');
    if (!fs.existsSync('/usr/bin/promtool')) return void console.warn('promtool not installed: exposition not checked');
    const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
    perf.close();
  });
});

describe('error budget early in the period', () => {
  it('does not read one bad sample seconds after start as an exhausted budget', () => {
    const spec = { name: 'x', description: 'x', objective: 0.99 };
    const s = new BucketSeries(10_000, 24 * 3_600_000);
    const start = 1_000_000;
    for (let i = 0; i < 10; i++) s.add(start + i * 1000, i === 0 ? 0 : 1, 1);
    const early = evaluateSlo(spec, s, start + 10_000, 24 * 3_600_000);
    expect(early.remaining).toBeGreaterThan(0.99);
    // The same error rate sustained over the whole period does exhaust it.
    const full = new BucketSeries(60_000, 24 * 3_600_000);
    for (let m = 0; m < 24 * 60; m++) full.add(start + m * 60_000, 90, 100);
    expect(evaluateSlo(spec, full, start + 24 * 3_600_000 - 1, 24 * 3_600_000).remaining).toBe(0);
  });
});

describe('burn-rate alerts at start-up', () => {
  it('do not fire before their short window has been observed, and do after', () => {
    const spec = { name: 'x', description: 'x', objective: 0.999 };
    const s = new BucketSeries(10_000, 24 * 3_600_000);
    const start = 5_000_000;
    // Every sample bad from the first second: a start-up spike, or a real outage.
    for (let t = 0; t <= 40 * 60_000; t += 10_000) s.add(start + t, 0, 100);
    expect(evaluateSlo(spec, s, start + 60_000, 24 * 3_600_000).fast).toBe(false); // 1 min in
    expect(evaluateSlo(spec, s, start + 6 * 60_000, 24 * 3_600_000).fast).toBe(true); // 6 min in
    expect(evaluateSlo(spec, s, start + 6 * 60_000, 24 * 3_600_000).slow).toBe(false);
    expect(evaluateSlo(spec, s, start + 31 * 60_000, 24 * 3_600_000).slow).toBe(true);
  });
});
