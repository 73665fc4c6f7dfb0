import { z } from 'zod';
import { event, method, noInput } from './define';

export const perfSeriesNames = [
  'inference_ms',
  'fps_camera',
  'fps_processed',
  'fps_skipped',
  'bandwidth_bytes_per_s',
  'fusion_latency_us',
  'event_loop_delay_ms',
  'event_loop_utilization',
  'cpu_utilization',
  'memory_rss_bytes',
] as const;
export const perfSeriesNameSchema = z.enum(perfSeriesNames);

export const perfAlertSchema = z.object({
  id: z.string(),
  at: z.number(),
  severity: z.enum(['warning', 'critical']),
  kind: z.enum(['burn_fast', 'burn_slow', 'inference_slow', 'detector_skipping']),
  /** The SLO or camera it is about. */
  subject: z.string(),
  message: z.string(),
});
export type PerfAlert = z.infer<typeof perfAlertSchema>;

export const perfBudgetSchema = z.object({
  slo: z.string(),
  description: z.string(),
  objective: z.number(),
  /** Fraction of the error budget left over the SLO period, 0..1. */
  remaining: z.number(),
  burn: z.object({ '5m': z.number(), '30m': z.number(), '1h': z.number(), '6h': z.number() }),
});

export const perfBottleneckSchema = z.object({
  stage: z.enum(['camera_inference', 'coordinator_fusion', 'event_loop', 'network']),
  subject: z.string(),
  utilisation: z.number(),
  queueGrowthPerMin: z.number(),
  lever: z.enum(['lower_fps', 'smaller_model', 'fewer_streams']),
  message: z.string(),
});

export const perfMethods = {
  'perf.health': method(
    'Health score 0–100 from SLO error budgets, the budgets with their burn rates, and the alerts firing now.',
    noInput,
    z.object({ score: z.number(), budgets: z.array(perfBudgetSchema), alerts: z.array(perfAlertSchema) }),
  ),
  'perf.series': method(
    'Recent samples of one metric for charts, one line per camera where it is per camera.',
    z
      .object({
        metric: perfSeriesNameSchema,
        camera: z.string().max(64).optional(),
        sinceMs: z.number().int().min(1_000).max(6 * 3_600_000).default(15 * 60_000),
      })
      .strict(),
    z.object({ metric: perfSeriesNameSchema, lines: z.array(z.object({ label: z.string(), points: z.array(z.tuple([z.number(), z.number()])) })) }),
  ),
  'perf.bottlenecks': method(
    'Stages whose utilisation nears 1 while their queue grows, each with the lever to pull.',
    noInput,
    z.object({ bottlenecks: z.array(perfBottleneckSchema) }),
  ),
} as const;

export const perfEvents = {
  'perf.alert': event('An alert started firing.', perfAlertSchema),
} as const;
