// SLO error budgets and multi-window burn-rate alerts (the Google SRE workbook scheme), as pure
// functions over bucketed good/total counts with an injected clock.

/** Good/total event counts in fixed time buckets, kept in a ring covering `spanMs`. */
export class BucketSeries {
  private readonly good: Float64Array;
  private readonly total: Float64Array;
  private readonly index: Float64Array; // which bucket number each slot holds
  /** Time of the first event ever added: how much of the budget period has been observed. */
  firstAt: number | undefined;
  constructor(
    readonly bucketMs: number,
    readonly spanMs: number,
  ) {
    const n = Math.ceil(spanMs / bucketMs) + 1;
    this.good = new Float64Array(n);
    this.total = new Float64Array(n);
    this.index = new Float64Array(n).fill(-1);
  }
  add(t: number, good: number, total: number): void {
    if (this.firstAt === undefined || t < this.firstAt) this.firstAt = t;
    const b = Math.floor(t / this.bucketMs);
    const slot = b % this.good.length;
    if (this.index[slot] !== b) {
      this.index[slot] = b;
      this.good[slot] = 0;
      this.total[slot] = 0;
    }
    this.good[slot]! += good;
    this.total[slot]! += total;
  }
  /** Sums over buckets that start within (now − windowMs, now]. */
  sum(now: number, windowMs: number): { good: number; total: number } {
    const last = Math.floor(now / this.bucketMs);
    const first = Math.floor((now - windowMs) / this.bucketMs) + 1;
    let good = 0;
    let total = 0;
    for (let b = Math.max(first, last - this.good.length + 1); b <= last; b++) {
      const slot = b % this.good.length;
      if (this.index[slot] === b) {
        good += this.good[slot]!;
        total += this.total[slot]!;
      }
    }
    return { good, total };
  }
}

export interface SloSpec {
  name: string;
  description: string;
  /** Target fraction of good events, e.g. 0.99. */
  objective: number;
}

export const BURN_WINDOWS = { '5m': 5 * 60_000, '30m': 30 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000 } as const;
/** Fast burn: 2% of a 30-day budget in 1 h; slow burn: 5% in 6 h (SRE workbook, ch. 5). */
export const FAST_BURN = 14.4;
export const SLOW_BURN = 6;

/** Error rate over the window divided by the error budget (1 − objective). 0 with no traffic. */
export function burnRate(s: BucketSeries, now: number, windowMs: number, objective: number): number {
  const { good, total } = s.sum(now, windowMs);
  if (total <= 0) return 0;
  return (total - good) / total / (1 - objective);
}

export interface BudgetState {
  slo: string;
  description: string;
  objective: number;
  remaining: number;
  burn: Record<keyof typeof BURN_WINDOWS, number>;
  fast: boolean;
  slow: boolean;
}

/**
 * Budget left over the whole period, and both alert conditions (each needs its long and short
 * window over the threshold, and at least `minEvents` in the short window so two samples cannot page).
 */
export function evaluateSlo(spec: SloSpec, s: BucketSeries, now: number, periodMs: number, minEvents = 10): BudgetState {
  const burn = {
    '5m': burnRate(s, now, BURN_WINDOWS['5m'], spec.objective),
    '30m': burnRate(s, now, BURN_WINDOWS['30m'], spec.objective),
    '1h': burnRate(s, now, BURN_WINDOWS['1h'], spec.objective),
    '6h': burnRate(s, now, BURN_WINDOWS['6h'], spec.objective),
  };
  const { good, total } = s.sum(now, periodMs);
  // The budget is the errors allowed over the whole period. Until a full period has been observed,
  // project the period's traffic from the rate seen so far (at least one minute of it), so one bad
  // sample seconds after start does not read as an exhausted budget.
  const seen = now - (s.firstAt ?? now);
  const observed = Math.min(periodMs, Math.max(60_000, seen));
  const allowed = (1 - spec.objective) * total * (periodMs / observed);
  const remaining = total <= 0 ? 1 : Math.max(0, Math.min(1, 1 - (total - good) / allowed));
  return {
    slo: spec.name,
    description: spec.description,
    objective: spec.objective,
    remaining,
    burn,
    // A window's burn rate means something only once that much time has been observed: seconds
    // after start every window holds the same few samples, and one start-up spike would page.
    fast: seen >= BURN_WINDOWS['5m'] && burn['1h'] >= FAST_BURN && burn['5m'] >= FAST_BURN && s.sum(now, BURN_WINDOWS['5m']).total >= minEvents,
    slow: seen >= BURN_WINDOWS['30m'] && burn['6h'] >= SLOW_BURN && burn['30m'] >= SLOW_BURN && s.sum(now, BURN_WINDOWS['30m']).total >= minEvents,
  };
}

/**
 * 0–100: the smallest budget left across SLOs (the weakest link decides), capped while a burn
 * alert fires so a fresh outage shows even before it has eaten the budget.
 */
export function healthScore(states: readonly BudgetState[]): number {
  if (!states.length) return 100;
  let score = 100 * Math.min(...states.map((s) => s.remaining));
  if (states.some((s) => s.fast)) score = Math.min(score, 40);
  else if (states.some((s) => s.slow)) score = Math.min(score, 70);
  return Math.round(score);
}
