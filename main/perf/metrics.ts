// Prometheus metrics on a registry of our own (never prom-client's global one, so two apps in one
// process, as in tests, do not collide). Names follow Prometheus conventions: base units
// (_seconds, _bytes), _total for counters, _ratio for 0..1.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface PerfMetrics {
  registry: Registry;
  inference: Histogram<'camera'>;
  fps: Gauge<'camera' | 'stage'>;
  receivedBytes: Counter<'camera'>;
  reports: Counter<'result'>;
  fusionLatency: Histogram;
  queueDepth: Gauge<'queue'>;
  hostCpu: Gauge;
  hostMemory: Gauge<'kind'>;
  dataDisk: Gauge<'kind'>;
  eventLoopDelay: Gauge<'percentile'>;
  processCpu: Counter;
  processMemory: Gauge<'kind'>;
  eventLoopUtilization: Gauge;
  healthScore: Gauge;
}

// prom-client's default collectors are left out on purpose: some of their gauges end in _total,
// which `promtool check metrics` rejects. The process figures we need are below.
export function createMetrics(): PerfMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    inference: new Histogram({
      name: 'omnisight_camera_inference_seconds',
      help: 'Detector inference time per frame, as reported by each camera.',
      labelNames: ['camera'],
      buckets: [0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.2, 0.5],
      registers,
    }),
    fps: new Gauge({
      name: 'omnisight_camera_frames_per_second',
      help: 'Frames per second per camera: stage="camera" captured, "processed" by the detector, "skipped" because it could not keep up.',
      labelNames: ['camera', 'stage'],
      registers,
    }),
    receivedBytes: new Counter({
      name: 'omnisight_camera_received_bytes_total',
      help: 'Bytes of signed messages received from each camera.',
      labelNames: ['camera'],
      registers,
    }),
    reports: new Counter({
      name: 'omnisight_swarm_reports_total',
      help: 'Camera messages by verification result (accepted, or the refusal reason).',
      labelNames: ['result'],
      registers,
    }),
    fusionLatency: new Histogram({
      name: 'omnisight_swarm_fusion_latency_seconds',
      help: 'Coordinator fusion compute per report.',
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'omnisight_swarm_queue_depth',
      help: 'Items waiting per coordinator queue: queue="ingest" (received, not yet verified), "fusion_open" (events still collecting reports).',
      labelNames: ['queue'],
      registers,
    }),
    hostCpu: new Gauge({ name: 'omnisight_host_cpu_utilization_ratio', help: 'Share of all host CPU time spent busy since the previous sample.', registers }),
    hostMemory: new Gauge({ name: 'omnisight_host_memory_bytes', help: 'Host memory: kind="total" or "available".', labelNames: ['kind'], registers }),
    dataDisk: new Gauge({ name: 'omnisight_data_disk_bytes', help: 'File system holding the data folder: kind="total" or "available".', labelNames: ['kind'], registers }),
    eventLoopDelay: new Gauge({
      name: 'omnisight_event_loop_delay_seconds',
      help: 'Event-loop delay over the last sampling interval: percentile="50", "99" or "100" (perf_hooks.monitorEventLoopDelay).',
      labelNames: ['percentile'],
      registers,
    }),
    processCpu: new Counter({ name: 'omnisight_process_cpu_seconds_total', help: 'CPU time (user + system) used by the main process.', registers }),
    processMemory: new Gauge({ name: 'omnisight_process_memory_bytes', help: 'Main process memory: kind="rss" or "heap_used".', labelNames: ['kind'], registers }),
    eventLoopUtilization: new Gauge({
      name: 'omnisight_event_loop_utilization_ratio',
      help: 'Share of the last sampling interval the event loop was busy (performance.eventLoopUtilization).',
      registers,
    }),
    healthScore: new Gauge({ name: 'omnisight_health_score', help: 'Health score 0-100 from SLO error budgets.', registers }),
  };
}
