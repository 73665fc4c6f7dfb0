/**
 * Aggregators over individual updates (only possible when secure aggregation is off, because they
 * need to see each update). All return a new vector of the same length.
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

/** Per coordinate: drop the ⌊trim·m⌋ smallest and largest values, average the rest (Yin et al. 2018). */
export function trimmedMean(updates: Vec[], trim: number): Float64Array {
  const m = updates.length;
  const k = Math.min(Math.floor(trim * m), Math.floor((m - 1) / 2));
  const out = new Float64Array(updates[0]?.length ?? 0);
  const col = new Float64Array(m);
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < m; j++) col[j] = updates[j]![i]!;
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

/**
 * Krum (Blanchard et al. 2017): the update whose m − f − 2 nearest neighbours are closest in squared
 * L2 distance. Tolerates f Byzantine updates when m > 2f + 2.
 */
export function krum(updates: Vec[], f: number): { index: number; vector: Float64Array } {
  const m = updates.length;
  if (m <= 2 * f + 2) throw new Error(`Krum needs more than ${2 * f + 2} updates to tolerate ${f} faulty ones; it got ${m}`);
  const dist: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (let a = 0; a < m; a++)
    for (let b = a + 1; b < m; b++) {
      let s = 0;
      const ua = updates[a]!;
      const ub = updates[b]!;
      for (let i = 0; i < ua.length; i++) {
        const t = ua[i]! - ub[i]!;
        s += t * t;
      }
      dist[a]![b] = dist[b]![a] = s;
    }
  let best = 0;
  let bestScore = Infinity;
  for (let a = 0; a < m; a++) {
    const near = dist[a]!.filter((_, b) => b !== a).sort((x, y) => x - y);
    const score = near.slice(0, m - f - 2).reduce((s, v) => s + v, 0);
    if (score < bestScore) [best, bestScore] = [a, score];
  }
  return { index: best, vector: Float64Array.from(updates[best]!) };
}
