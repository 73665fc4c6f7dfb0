// Pure shaping of `perf.series` answers into recharts rows, kept apart from the view so it is tested.
export interface SeriesLine {
  label: string;
  points: [number, number][];
}

/** At most this many per-camera lines per chart (the worst ones); the rest would be noise. */
export const MAX_LINES = 8;

/**
 * Lines → rows keyed by time (to the second), one column per line label. With `worstFirst` only
 * the MAX_LINES lines with the highest last value are kept; columns come back sorted by label so
 * colours stay put while values move.
 */
export function rows(lines: readonly SeriesLine[] | undefined, worstFirst = true): { data: Record<string, number>[]; keys: string[] } {
  if (!lines) return { data: [], keys: [] };
  const kept = [...lines]
    .filter((l) => l.points.length > 0)
    .sort((a, b) => (worstFirst ? (b.points.at(-1)?.[1] ?? 0) - (a.points.at(-1)?.[1] ?? 0) : a.label.localeCompare(b.label)))
    .slice(0, MAX_LINES)
    .sort((a, b) => a.label.localeCompare(b.label));
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
