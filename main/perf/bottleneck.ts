// Bottleneck finder: the stage whose utilisation nears 1 while its queue grows (USE method), with
// the lever to pull. Frigate's detector thresholds name the camera-side problems.

export type Stage = 'camera_inference' | 'coordinator_fusion' | 'event_loop' | 'network';
export type Lever = 'lower_fps' | 'smaller_model' | 'fewer_streams';
export interface StageSample {
  t: number;
  utilisation: number;
  /** Queue length, or a cumulative count of work dropped because the queue was full. */
  queue: number;
}
export interface StageSeries {
  stage: Stage;
  subject: string;
  samples: readonly StageSample[];
  /** Latest inference time, for choosing between a smaller model and a lower fps. */
  inferenceMs?: number;
}
export interface Bottleneck {
  stage: Stage;
  subject: string;
  utilisation: number;
  queueGrowthPerMin: number;
  lever: Lever;
  message: string;
}

export const FRIGATE_INFERENCE_WARN_MS = 50;
export const FRIGATE_INFERENCE_ERROR_MS = 100;

/** Least-squares slope of queue over time, per minute. */
export function queueSlopePerMin(samples: readonly StageSample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  let mt = 0;
  let mq = 0;
  for (const s of samples) {
    mt += s.t;
    mq += s.queue;
  }
  mt /= n;
  mq /= n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.queue - mq);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

const leverFor = (s: StageSeries): Lever =>
  s.stage === 'camera_inference'
    ? (s.inferenceMs ?? 0) > FRIGATE_INFERENCE_WARN_MS
      ? 'smaller_model'
      : 'lower_fps'
    : s.stage === 'network'
      ? 'lower_fps'
      : 'fewer_streams';

const advice: Record<Lever, string> = {
  lower_fps: 'lower its frame rate',
  smaller_model: 'switch it to a smaller model',
  fewer_streams: 'send fewer camera streams to this coordinator (or split the fleet)',
};

/**
 * A stage is a bottleneck when its recent utilisation (mean of the last `recent` samples) is at
 * least `busy` and its queue grew over the look-back window. Worst first.
 */
export function findBottlenecks(
  series: readonly StageSeries[],
  now: number,
  opts: { busy?: number; lookbackMs?: number; recent?: number } = {},
): Bottleneck[] {
  const busy = opts.busy ?? 0.9;
  const lookback = opts.lookbackMs ?? 5 * 60_000;
  const recentN = opts.recent ?? 3;
  const out: Bottleneck[] = [];
  for (const s of series) {
    const window = s.samples.filter((x) => x.t > now - lookback && x.t <= now);
    if (window.length < 2) continue;
    const recent = window.slice(-recentN);
    const util = recent.reduce((a, x) => a + x.utilisation, 0) / recent.length;
    const growth = queueSlopePerMin(window);
    if (util < busy || growth <= 0) continue;
    const lever = leverFor(s);
    out.push({
      stage: s.stage,
      subject: s.subject,
      utilisation: util,
      queueGrowthPerMin: growth,
      lever,
      message: `${s.subject}: ${s.stage.replace('_', ' ')} is ${Math.round(util * 100)}% busy and its queue grows by ${growth.toFixed(1)}/min; ${advice[lever]}.`,
    });
  }
  return out.sort((a, b) => b.utilisation - a.utilisation || b.queueGrowthPerMin - a.queueGrowthPerMin);
}
