/**
 * Ground-plane mapping for one camera: a 3×3 homography from normalised image coordinates
 * (0..1, y down) to ground metres, estimated with the normalised direct linear transform (DLT).
 */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

export interface PointPair {
  image: { u: number; v: number };
  ground: { x: number; y: number };
}

export class DegenerateCalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DegenerateCalibrationError';
  }
}

/** Symmetric eigen-decomposition by cyclic Jacobi rotations; fine for the 9×9 DLT normal matrix. */
export function symmetricEigen(a: number[][]): { values: number[]; vectors: number[][] } {
  const n = a.length;
  const m = a.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j): number => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k]![p]!;
          const mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p]![k]!;
          const mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = m.map((r, i) => r[i]!);
  const vectors = values.map((_, j) => v.map((r) => r[j]!));
  return { values, vectors };
}

/** Hartley normalisation: centroid to the origin, mean distance √2. Returns T as a Mat3. */
function normaliser(pts: { a: number; b: number }[]): Mat3 {
  const cx = pts.reduce((s, p) => s + p.a, 0) / pts.length;
  const cy = pts.reduce((s, p) => s + p.b, 0) / pts.length;
  const d = pts.reduce((s, p) => s + Math.hypot(p.a - cx, p.b - cy), 0) / pts.length;
  const k = d > 0 ? Math.SQRT2 / d : 1;
  return [k, 0, -k * cx, 0, k, -k * cy, 0, 0, 1];
}

export function mul3(a: Mat3, b: Mat3): Mat3 {
  const r = new Array(9).fill(0) as Mat3;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) r[i * 3 + j] = r[i * 3 + j]! + a[i * 3 + k]! * b[k * 3 + j]!;
  return r;
}

export function invert3(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-15) throw new DegenerateCalibrationError('The homography is singular.');
  const s = 1 / det;
  return [A * s, -(b * i - c * h) * s, (b * f - c * e) * s, B * s, (a * i - c * g) * s, -(a * f - c * d) * s, C * s, -(a * h - b * g) * s, (a * e - b * d) * s];
}

/** Applies H to (a, b); undefined when the point maps to or beyond the horizon (w ≤ 0). */
export function apply(h: Mat3, a: number, b: number): { x: number; y: number } | undefined {
  const w = h[6] * a + h[7] * b + h[8];
  if (!(w > 1e-12)) return undefined;
  return { x: (h[0] * a + h[1] * b + h[2]) / w, y: (h[3] * a + h[4] * b + h[5]) / w };
}

/** Jacobian of the mapping at (a, b), row-major 2×2, for propagating image noise to the ground. */
export function jacobian(h: Mat3, a: number, b: number): [number, number, number, number] {
  const w = h[6] * a + h[7] * b + h[8];
  const x = h[0] * a + h[1] * b + h[2];
  const y = h[3] * a + h[4] * b + h[5];
  const w2 = w * w;
  return [(h[0] * w - x * h[6]) / w2, (h[1] * w - x * h[7]) / w2, (h[3] * w - y * h[6]) / w2, (h[4] * w - y * h[7]) / w2];
}

const triangleArea = (p: { a: number; b: number }, q: { a: number; b: number }, r: { a: number; b: number }): number =>
  Math.abs((q.a - p.a) * (r.b - p.b) - (r.a - p.a) * (q.b - p.b)) / 2;

function checkSpread(pts: { a: number; b: number }[], which: string): void {
  const n = pts.length;
  const scale = Math.max(1e-12, ...pts.flatMap((p) => pts.map((q) => Math.hypot(p.a - q.a, p.b - q.b)))) ** 2;
  // With four points every triple must span a triangle; with more, at least four points must be in general position.
  let good = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      for (let k = j + 1; k < n; k++) if (triangleArea(pts[i]!, pts[j]!, pts[k]!) > 1e-4 * scale) good++;
  const triples = (n * (n - 1) * (n - 2)) / 6;
  if (n === 4 ? good < triples : good === 0)
    throw new DegenerateCalibrationError(
      `Three or more of the ${which} reference points lie on one line (or coincide). Pick four points that form a quadrilateral, such as the corners of a parking bay or floor tiles.`,
    );
}

/**
 * Estimates image→ground from ≥ 4 pairs with the normalised DLT: stack two equations per pair,
 * take the right null vector of A (eigenvector of AᵀA with the smallest eigenvalue), undo the
 * normalisation. Throws DegenerateCalibrationError when the points cannot determine H.
 */
export function estimateHomography(pairs: PointPair[]): { h: Mat3; rmsErrorM: number } {
  if (pairs.length < 4) throw new DegenerateCalibrationError(`A homography needs at least 4 reference point pairs; got ${pairs.length}.`);
  const img = pairs.map((p) => ({ a: p.image.u, b: p.image.v }));
  const gnd = pairs.map((p) => ({ a: p.ground.x, b: p.ground.y }));
  checkSpread(img, 'image');
  checkSpread(gnd, 'ground');
  const ti = normaliser(img);
  const tg = normaliser(gnd);
  const ata = Array.from({ length: 9 }, () => new Array<number>(9).fill(0));
  const addRow = (r: number[]): void => {
    for (let i = 0; i < 9; i++) for (let j = 0; j < 9; j++) ata[i]![j]! += r[i]! * r[j]!;
  };
  for (let k = 0; k < pairs.length; k++) {
    const a = ti[0] * img[k]!.a + ti[2];
    const b = ti[4] * img[k]!.b + ti[5];
    const x = tg[0] * gnd[k]!.a + tg[2];
    const y = tg[4] * gnd[k]!.b + tg[5];
    addRow([a, b, 1, 0, 0, 0, -x * a, -x * b, -x]);
    addRow([0, 0, 0, a, b, 1, -y * a, -y * b, -y]);
  }
  const { values, vectors } = symmetricEigen(ata);
  const order = values.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
  const largest = order[8]![0];
  // A second (near-)zero eigenvalue means a family of solutions: the points do not pin H down.
  if (order[1]![0] < 1e-10 * largest)
    throw new DegenerateCalibrationError('The reference points do not determine a unique ground mapping. Spread them over the image and the ground.');
  const hn = vectors[order[0]![1]]! as Mat3;
  let h = mul3(mul3(invert3(tg), hn), ti);
  // Scale (sign included) is free: pick the sign that gives the reference points w > 0 (the side
  // of the horizon the camera sees; apply() refuses the other), and |h₂₂| = 1 when it can.
  const w0 = h[6] * pairs[0]!.image.u + h[7] * pairs[0]!.image.v + h[8];
  const s = (w0 < 0 ? -1 : 1) * (Math.abs(h[8]) > 1e-12 ? Math.abs(h[8]) : 1);
  h = h.map((c) => c / s) as Mat3;
  let se = 0;
  for (const p of pairs) {
    const g = apply(h, p.image.u, p.image.v);
    if (!g) throw new DegenerateCalibrationError('A reference point maps beyond the horizon. Check that image and ground points are paired in the same order.');
    se += (g.x - p.ground.x) ** 2 + (g.y - p.ground.y) ** 2;
  }
  return { h, rmsErrorM: Math.sqrt(se / pairs.length) };
}

/** Foot point of a detection box (bottom centre): where the object touches the ground. */
export function footPoint(box: { left: number; top: number; right: number; bottom: number }): { u: number; v: number } {
  return { u: (box.left + box.right) / 2, v: box.bottom };
}
