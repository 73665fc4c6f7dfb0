/**
 * Aggregators over individual updates (only possible when secure aggregation is off, because they
 * need to see each update). All return a new vector of the same length. Written here rather than
 * taken from a library: no maintained npm package implements these Byzantine-robust rules, and each
 * is a few lines over typed arrays.
 */
export type Vec = Float32Array | Float64Array;

export function weightedMean(updates: Vec[], weights: number[]): Float64Array {
  const out = new Float64Array(updates[0]?.length ?? 0);
  const total = weights.reduce((a, b) => a + b, 0);
  updates.forEach((u, k) => {
    const w = weights[k]! / total;
    for (let i = 0; i < out.length; i++) out[i]! += w * u[i]!;
  });
  return out;
}

/**
 * How many values each end the trimmed mean drops: ⌊trim·m⌋, capped so at least one value is left.
 * The small epsilon keeps floating error from losing one (0.29 · 100 is 28.999999999999996 in IEEE
 * doubles, and a 29 % trim must drop 29).
 */
export const trimCount = (trim: number, m: number): number => Math.max(0, Math.min(Math.floor(trim * m + 1e-9), Math.floor((m - 1) / 2)));

/** Per coordinate: drop the ⌊trim·m⌋ smallest and largest values, average the rest (Yin et al. 2018). */
export function trimmedMean(updates: Vec[], trim: number): Float64Array {
  const m = updates.length;
  const k = trimCount(trim, m);
  const out = new Float64Array(updates[0]?.length ?? 0);
  const col = new Float64Array(m);
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < m; j++) col[j] = updates[j]![i]!;
    // A typed array sorts numerically (not as strings, unlike Array.prototype.sort), NaN last.
    col.sort();
    let s = 0;
    for (let j = k; j < m - k; j++) s += col[j]!;
    out[i] = s / (m - 2 * k);
  }
  return out;
}

/** Coordinate-wise median. */
export function median(updates: Vec[]): Float64Array {
  const m = updates.length;
  const out = new Float64Array(updates[0]?.length ?? 0);
  const col = new Float64Array(m);
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < m; j++) col[j] = updates[j]![i]!;
    col.sort();
    out[i] = m % 2 ? col[(m - 1) / 2]! : (col[m / 2 - 1]! + col[m / 2]!) / 2;
  }
  return out;
}

/** Squared L2 distance; a non-finite one (a NaN or infinite update) counts as infinitely far. */
function dist2(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const t = a[i]! - b[i]!;
    s += t * t;
  }
  return Number.isFinite(s) ? s : Infinity;
}

/** Krum's score of every update: the sum of squared distances to its m − f − 2 nearest neighbours. */
export function krumScores(updates: Vec[], f: number): number[] {
  const m = updates.length;
  if (m <= 2 * f + 2) throw new Error(`Krum needs more than ${2 * f + 2} updates to tolerate ${f} faulty ones; it got ${m}`);
  const dist: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) dist[a]![b] = dist[b]![a] = dist2(updates[a]!, updates[b]!);
  return dist.map((row, a) => {
    const near = row.filter((_, b) => b !== a).sort((x, y) => x - y);
    return near.slice(0, m - f - 2).reduce((s, v) => s + v, 0);
  });
}

/**
 * Krum (Blanchard et al. 2017): the update whose m − f − 2 nearest neighbours are closest in squared
 * L2 distance. Tolerates f Byzantine updates when m > 2f + 2. An update with a non-finite coordinate
 * is infinitely far from every other, so it is never chosen while a finite one exists.
 */
export function krum(updates: Vec[], f: number): { index: number; vector: Float64Array } {
  const scores = krumScores(updates, f);
  let best = 0;
  for (let a = 1; a < scores.length; a++) if (scores[a]! < scores[best]!) best = a;
  return { index: best, vector: Float64Array.from(updates[best]!) };
}

/**
 * Multi-Krum (Blanchard et al. 2017, §5): the mean of the `select` updates with the lowest Krum
 * scores (select = m − f by default). Same tolerance as Krum, with far less variance than one update.
 */
export function multiKrum(updates: Vec[], f: number, select = updates.length - f): { indices: number[]; vector: Float64Array } {
  const scores = krumScores(updates, f);
  const k = Math.max(1, Math.min(select, updates.length));
  const indices = scores
    .map((s, i) => [s, i] as const)
    .sort((x, y) => x[0] - y[0] || x[1] - y[1])
    .slice(0, k)
    .map(([, i]) => i);
  return { indices, vector: weightedMean(indices.map((i) => updates[i]!), indices.map(() => 1)) };
}

const norm = (v: Vec): number => Math.sqrt(dist2(v, new Float64Array(v.length)));

const medianOf = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length;
  return m === 0 ? 0 : m % 2 ? s[(m - 1) / 2]! : (s[m / 2 - 1]! + s[m / 2]!) / 2;
};

/**
 * Norm bounding (Sun et al. 2019, "Can you really backdoor federated learning?"): every update is
 * scaled down to at most the bound, then averaged with the given weights. The bound here is the
 * median update norm of the round, so no tuning is needed and fewer than half the cameras cannot
 * raise it. It limits how far a scaled update can pull, not which direction it points.
 */
export function normBoundedMean(updates: Vec[], weights: number[], bound = medianOf(updates.map(norm))): Float64Array {
  const clipped = updates.map((u) => {
    const n = norm(u);
    if (!Number.isFinite(n)) return new Float64Array(u.length);
    const f = n > bound ? bound / n : 1;
    return Float64Array.from(u, (x) => x * f);
  });
  return weightedMean(clipped, weights);
}

/**
 * Centered clipping (Karimireddy, He & Jaggi 2021): starting from a centre v (the previous round's
 * aggregate, which is what the paper's momentum plays), `iterations` times
 * v ← v + (1/m) Σ (x_i − v) · min(1, τ/‖x_i − v‖). The radius τ is the median distance of the
 * updates to the centre unless given (our choice: the paper tunes a fixed τ per task), so fewer than
 * half the cameras cannot widen it.
 */
export function centeredClip(updates: Vec[], opts: { center?: Vec; tau?: number; iterations?: number } = {}): Float64Array {
  const d = updates[0]?.length ?? 0;
  const v = opts.center ? Float64Array.from(opts.center) : new Float64Array(d);
  const m = updates.length;
  for (let it = 0; it < (opts.iterations ?? 3); it++) {
    const dists = updates.map((u) => Math.sqrt(dist2(u, v)));
    const tau = opts.tau ?? medianOf(dists);
    const step = new Float64Array(d);
    updates.forEach((u, j) => {
      const dj = dists[j]!;
      if (!Number.isFinite(dj) || dj === 0) return;
      const f = Math.min(1, tau / dj) / m;
      for (let i = 0; i < d; i++) step[i]! += (u[i]! - v[i]!) * f;
    });
    for (let i = 0; i < d; i++) v[i]! += step[i]!;
  }
  return v;
}

/** The robust aggregation modes the app offers, with the parameter each takes. */
export type RobustMode = { rule: 'trimmed-mean'; trim: number } | { rule: 'median' } | { rule: 'krum'; f: number };

/**
 * How many poisoned updates a mode tolerates among m, and the condition in words (for the UI and
 * the tests, which check the words against what the rules do):
 * median f < m/2; trimmed mean f ≤ ⌊trim·m⌋ (the trim fraction must be at least the poisoned share);
 * Krum f ≤ the configured f and m > 2f + 2.
 */
export function tolerance(mode: RobustMode, m: number): { faulty: number; condition: string } {
  if (mode.rule === 'median') return { faulty: Math.max(0, Math.ceil(m / 2) - 1), condition: 'fewer than half the cameras poisoned (f < m/2)' };
  if (mode.rule === 'trimmed-mean') {
    const k = trimCount(mode.trim, m);
    return { faulty: k, condition: `a trim fraction at least the poisoned share (${Math.round(mode.trim * 100)}% of ${m} drops ${k} each end)` };
  }
  const f = Math.max(0, Math.min(mode.f, Math.floor((m - 3) / 2)));
  return { faulty: f, condition: `m > 2f + 2 (${m} cameras: up to ${Math.max(0, Math.floor((m - 3) / 2))} faulty${f < mode.f ? `, fewer than the ${mode.f} configured` : ''})` };
}

/**
 * One sentence for the Federated view: what the mode tolerates with n cameras per round (the
 * conditions tested in robust-eval.test.ts and measured by `npm run eval:robust`).
 */
export function toleranceNote(mode: RobustMode, n: number): string {
  const t = tolerance(mode, n);
  const per = n >= 3 ? `with ${n} cameras per round it tolerates up to ${t.faulty} poisoned` : 'it needs at least 3 cameras per round';
  if (mode.rule === 'median') return `The median holds while fewer than half the cameras are poisoned (f < m/2); ${per}.`;
  if (mode.rule === 'trimmed-mean') return `The trimmed mean holds while the trim fraction is at least the poisoned share; ${per}.`;
  const capped = n >= 3 && t.faulty < mode.f ? ` (fewer than the ${mode.f} configured: Krum needs m > 2f + 2)` : '';
  return `Krum holds up to f poisoned cameras when m > 2f + 2; ${per}${capped}. Set f to at least the number you expect. It keeps one camera’s update, so cameras that see different scenes make it learn slowly.`;
}
