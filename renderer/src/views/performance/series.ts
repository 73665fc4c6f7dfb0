// Pure shaping of `perf.series` answers into recharts rows, kept apart from the view so it is tested.
export interface SeriesLine {
  label: string;
  points: [number, number][];
}

/**
 * At most this many lines per chart. Every camera of a fleet this size is charted (the legend hides
 * lines, not the data): picking "the worst eight" at each refresh showed a different eight each
 * time. Past it, the lines are the first by label, so the set still does not change between reads.
 */
export const MAX_LINES = 64;

/**
 * Lines → rows keyed by time (to the second), one column per line label, columns sorted by label
 * so that a camera keeps its column (and colour) while values move.
 */
export function rows(lines: readonly SeriesLine[] | undefined): { data: Record<string, number>[]; keys: string[] } {
  if (!lines) return { data: [], keys: [] };
  const kept = [...lines]
    .filter((l) => l.points.length > 0)
    .sort((a, b) => a.label.localeCompare(b.label))
    .slice(0, MAX_LINES);
  const byT = new Map<number, Record<string, number>>();
  for (const l of kept)
    for (const [t, v] of l.points) {
      const k = Math.round(t / 1000) * 1000;
      let r = byT.get(k);
      if (!r) byT.set(k, (r = { t: k }));
      r[l.label] = v;
    }
  return { data: [...byT.values()].sort((a, b) => a.t! - b.t!), keys: kept.map((l) => l.label) };
}

/**
 * Fleet total of per-camera lines on a grid of `stepMs`: each camera counts with its latest value
 * at or before each grid time (cameras report with different phases, so their points rarely share
 * a timestamp and rounding them into buckets splits one instant into two half-totals). A camera
 * counts from its first point on and for up to three steps after its last one.
 */
export function fleetTotal(lines: readonly SeriesLine[] | undefined, stepMs: number): [number, number][] {
  const ls = (lines ?? []).filter((l) => l.points.length > 0);
  if (!ls.length) return [];
  const first = Math.min(...ls.map((l) => l.points[0]![0]));
  const last = Math.max(...ls.map((l) => l.points.at(-1)![0]));
  const out: [number, number][] = [];
  const idx = ls.map(() => -1);
  for (let g = Math.ceil(first / stepMs) * stepMs; g <= Math.ceil(last / stepMs) * stepMs; g += stepMs) {
    let sum = 0;
    let any = false;
    ls.forEach((l, i) => {
      while (idx[i]! + 1 < l.points.length && l.points[idx[i]! + 1]![0] <= g) idx[i]!++;
      // A camera that stopped reporting drops out after a few steps instead of being held forever.
      if (idx[i]! >= 0 && g - l.points[idx[i]!]![0] <= 3 * stepMs) {
        sum += l.points[idx[i]!]![1];
        any = true;
      }
    });
    if (any) out.push([g, sum]);
  }
  return out;
}

/** Tick label for a time axis spanning `spanMs`: seconds only when the span is short enough to need them. */
export function timeTick(t: number, spanMs: number): string {
  return new Date(t).toLocaleTimeString(undefined, { hour12: false, hour: '2-digit', minute: '2-digit', ...(spanMs < 10 * 60_000 ? { second: '2-digit' } : {}) });
}

export const RANGES = [
  { ms: 5 * 60_000, label: '5 min' },
  { ms: 15 * 60_000, label: '15 min' },
  { ms: 60 * 60_000, label: '1 h' },
  { ms: 6 * 60 * 60_000, label: '6 h' },
] as const;

interface Budget {
  slo: string;
  description: string;
  objective: number;
  remaining: number;
  burn: { '5m': number; '30m': number; '1h': number; '6h': number };
}
interface Bottleneck {
  stage: string;
  subject: string;
  utilisation: number;
}

/**
 * Why the health score is what it is: the objectives whose error budget is spent or burning, worst
 * first, in words. The score is derived from these budgets, so this is its reason.
 */
export function scoreReasons(budgets: readonly Budget[]): string[] {
  return [...budgets]
    .filter((b) => b.remaining < 0.9 || b.burn['1h'] > 1)
    .sort((a, b) => a.remaining - b.remaining)
    .map((b) => {
      const left = Math.max(0, Math.round(b.remaining * 100));
      const burn = b.burn['1h'];
      return `${b.description}: ${left} % of its error budget left${burn > 1 ? `, spending it ${burn.toFixed(1)}× too fast over the last hour` : ''}.`;
    });
}

/**
 * What the bottleneck finder says beside the score, so the two never contradict each other: with
 * no saturated stage and a low score, it says the score is low for reasons that are not capacity
 * (and names them); with a saturated stage, it is the why.
 */
export function bottleneckSummary(bottlenecks: readonly Bottleneck[], budgets: readonly Budget[], score: number | undefined): string {
  if (bottlenecks.length) {
    const worst = [...bottlenecks].sort((a, b) => b.utilisation - a.utilisation)[0]!;
    return `${worst.subject} (${worst.stage.replace(/_/g, ' ')}) is ${Math.round(worst.utilisation * 100)} % busy with a growing queue: that is what limits the fleet now.`;
  }
  const reasons = scoreReasons(budgets);
  if (score !== undefined && score < 90 && reasons.length)
    return `No stage is near saturation, so more capacity would not help: the score is low because objectives were missed (${budgets
      .filter((b) => b.remaining < 0.9 || b.burn['1h'] > 1)
      .sort((a, b) => a.remaining - b.remaining)
      .map((b) => b.description.toLowerCase())
      .slice(0, 2)
      .join('; ')}).`;
  return 'No stage is near saturation with a growing queue.';
}
