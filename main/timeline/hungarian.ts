/**
 * Minimum-cost assignment (Kuhn–Munkres, the O(n²·m) shortest-augmenting-path form with row and
 * column potentials, i.e. O(n³) for square matrices).
 *
 * Written here rather than taken from a package: it is ~50 lines, it runs on every camera frame in
 * the tracker's hot path (so it works on a flat Float64Array without allocation per cell), and it
 * needs the rectangular case and "forbidden" cells that gating produces. It is checked against
 * brute force on random matrices in hungarian.test.ts.
 */
export const FORBIDDEN = 1e9;

/**
 * @param cost row-major rows×cols matrix; cells ≥ FORBIDDEN may not be chosen.
 * @returns for each row the assigned column, or -1 (more rows than columns, or only forbidden cells).
 */
export function hungarian(cost: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const result = new Int32Array(rows).fill(-1);
  if (rows === 0 || cols === 0) return result;
  // The algorithm needs rows ≤ cols; transpose otherwise.
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const at = transposed ? (i: number, j: number) => cost[j * cols + i]! : (i: number, j: number) => cost[i * cols + j]!;

  // 1-based arrays; index 0 is the virtual start column.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j] = row matched to column j
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = at(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          const pj = p[j]!;
          u[pj] = u[pj]! + delta;
          v[j] = v[j]! - delta;
        } else minv[j] = minv[j]! - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  for (let j = 1; j <= m; j++) {
    const i = p[j]!;
    if (i === 0) continue;
    const r = transposed ? j - 1 : i - 1;
    const c = transposed ? i - 1 : j - 1;
    if (cost[r * cols + c]! < FORBIDDEN) result[r] = c;
  }
  return result;
}
