/**
 * Linear Kalman filtering on the 2-D ground plane. State [x, y, vx, vy] (metres, m/s); matrices are
 * flat row-major Float64Arrays (4×4 = 16 cells) so the hot paths allocate little.
 */
export type Vec4 = Float64Array; // length 4
export type Mat4 = Float64Array; // length 16
export type Cov2 = [number, number, number]; // xx, xy, yy

/** χ² 95 % quantile with 2 degrees of freedom: the Mahalanobis gate for a 2-D measurement. */
export const CHI2_2DOF_95 = 5.991;

/** Process noise of the white-noise-acceleration model, spectral density q (m²/s³), per axis. */
export function whiteAccelerationQ(dt: number, q: number, out: Mat4 = new Float64Array(16)): Mat4 {
  const a = (q * dt ** 3) / 3;
  const b = (q * dt ** 2) / 2;
  const c = q * dt;
  out.fill(0);
  out[0] = a;
  out[2] = b;
  out[5] = a;
  out[7] = b;
  out[8] = b;
  out[10] = c;
  out[13] = b;
  out[15] = c;
  return out;
}

export function constantVelocityF(dt: number, out: Mat4 = new Float64Array(16)): Mat4 {
  out.fill(0);
  out[0] = out[5] = out[10] = out[15] = 1;
  out[2] = out[7] = dt;
  return out;
}

/** x ← F x, P ← F P Fᵀ + Q, in place. `tmp` is 16 cells of scratch. */
export function predictInPlace(x: Vec4, p: Mat4, f: Mat4, q: Mat4, tmp: Mat4 = new Float64Array(16)): void {
  const x0 = x[0]!, x1 = x[1]!, x2 = x[2]!, x3 = x[3]!;
  for (let i = 0; i < 4; i++) x[i] = f[i * 4]! * x0 + f[i * 4 + 1]! * x1 + f[i * 4 + 2]! * x2 + f[i * 4 + 3]! * x3;
  // tmp = F P
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++)
      tmp[i * 4 + j] = f[i * 4]! * p[j]! + f[i * 4 + 1]! * p[4 + j]! + f[i * 4 + 2]! * p[8 + j]! + f[i * 4 + 3]! * p[12 + j]!;
  // P = tmp Fᵀ + Q
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++)
      p[i * 4 + j] =
        tmp[i * 4]! * f[j * 4]! + tmp[i * 4 + 1]! * f[j * 4 + 1]! + tmp[i * 4 + 2]! * f[j * 4 + 2]! + tmp[i * 4 + 3]! * f[j * 4 + 3]! + q[i * 4 + j]!;
}

/**
 * The same prediction for transitions of the block form F = [[I, A], [0, B]] (every motion model
 * here: position gains A·v, velocity becomes B·v), written out on the 2×2 blocks and using P's
 * symmetry: about a third of the multiplications of the general 4×4 product, no scratch.
 */
export function predictBlockInPlace(x: Vec4, p: Mat4, f: Mat4, q: Mat4): void {
  const a00 = f[2]!, a01 = f[3]!, a10 = f[6]!, a11 = f[7]!;
  const b00 = f[10]!, b01 = f[11]!, b10 = f[14]!, b11 = f[15]!;
  const vx = x[2]!, vy = x[3]!;
  x[0] = x[0]! + a00 * vx + a01 * vy;
  x[1] = x[1]! + a10 * vx + a11 * vy;
  x[2] = b00 * vx + b01 * vy;
  x[3] = b10 * vx + b11 * vy;
  // Blocks of P: P11 = [p00 p01; p01 p11], P12 = [p02 p03; p12 p13], P22 = [p22 p23; p23 p33].
  const p00 = p[0]!, p01 = p[1]!, p02 = p[2]!, p03 = p[3]!;
  const p11 = p[5]!, p12 = p[6]!, p13 = p[7]!;
  const p22 = p[10]!, p23 = p[11]!, p33 = p[15]!;
  // M = P12 + A P22
  const m00 = p02 + a00 * p22 + a01 * p23;
  const m01 = p03 + a00 * p23 + a01 * p33;
  const m10 = p12 + a10 * p22 + a11 * p23;
  const m11 = p13 + a10 * p23 + a11 * p33;
  // U = P11 + A P12ᵀ
  const u00 = p00 + a00 * p02 + a01 * p03;
  const u01 = p01 + a00 * p12 + a01 * p13;
  const u11 = p11 + a10 * p12 + a11 * p13;
  // P'11 = U + M Aᵀ, P'12 = M Bᵀ, P'22 = B P22 Bᵀ (each plus Q)
  const n00 = u00 + m00 * a00 + m01 * a01 + q[0]!;
  const n01 = u01 + m00 * a10 + m01 * a11 + q[1]!;
  const n11 = u11 + m10 * a10 + m11 * a11 + q[5]!;
  const n02 = m00 * b00 + m01 * b01 + q[2]!;
  const n03 = m00 * b10 + m01 * b11 + q[3]!;
  const n12 = m10 * b00 + m11 * b01 + q[6]!;
  const n13 = m10 * b10 + m11 * b11 + q[7]!;
  // B P22
  const w00 = b00 * p22 + b01 * p23;
  const w01 = b00 * p23 + b01 * p33;
  const w10 = b10 * p22 + b11 * p23;
  const w11 = b10 * p23 + b11 * p33;
  const n22 = w00 * b00 + w01 * b01 + q[10]!;
  const n23 = w00 * b10 + w01 * b11 + q[11]!;
  const n33 = w10 * b10 + w11 * b11 + q[15]!;
  p[0] = n00;
  p[1] = p[4] = n01;
  p[2] = p[8] = n02;
  p[3] = p[12] = n03;
  p[5] = n11;
  p[6] = p[9] = n12;
  p[7] = p[13] = n13;
  p[10] = n22;
  p[11] = p[14] = n23;
  p[15] = n33;
}

export interface Innovation {
  y0: number;
  y1: number;
  /** S⁻¹ as xx, xy, yy. */
  si: Cov2;
  detS: number;
  /** Squared Mahalanobis distance yᵀ S⁻¹ y. */
  d2: number;
}

/** Innovation of a position measurement z (covariance r) against the state, H = [I 0]. */
export function innovation(x: Vec4, p: Mat4, z0: number, z1: number, r: Cov2): Innovation {
  const s00 = p[0]! + r[0];
  const s01 = p[1]! + r[1];
  const s11 = p[5]! + r[2];
  const det = s00 * s11 - s01 * s01;
  const si: Cov2 = [s11 / det, -s01 / det, s00 / det];
  const y0 = z0 - x[0]!;
  const y1 = z1 - x[1]!;
  return { y0, y1, si, detS: det, d2: y0 * y0 * si[0] + 2 * y0 * y1 * si[1] + y1 * y1 * si[2] };
}

// Scratch for updateInPlace: K (4×2) and the first two rows of P. Module-level so the hot path
// (every IMM mode of every track on every frame) allocates nothing; the code is synchronous.
const gainK = new Float64Array(8);
const rowH0 = new Float64Array(4);
const rowH1 = new Float64Array(4);

/** Kalman update in place with a precomputed innovation. */
export function updateInPlace(x: Vec4, p: Mat4, inn: Innovation): void {
  updateInPlaceRaw(x, p, inn.y0, inn.y1, inn.si[0], inn.si[1], inn.si[2]);
}

/** The same update from the innovation's scalars (y and S⁻¹ as xx, xy, yy), without an object. */
export function updateInPlaceRaw(x: Vec4, p: Mat4, y0: number, y1: number, a: number, b: number, c: number): void {
  const k = gainK;
  // K = P Hᵀ S⁻¹ (4×2); P Hᵀ is the first two columns of P.
  for (let i = 0; i < 4; i++) {
    const p0 = p[i * 4]!;
    const p1 = p[i * 4 + 1]!;
    k[i * 2] = p0 * a + p1 * b;
    k[i * 2 + 1] = p0 * b + p1 * c;
  }
  for (let i = 0; i < 4; i++) x[i] = x[i]! + k[i * 2]! * y0 + k[i * 2 + 1]! * y1;
  // P ← P − K H P  (H P is the first two rows of P); then symmetrise against round-off.
  for (let j = 0; j < 4; j++) {
    rowH0[j] = p[j]!;
    rowH1[j] = p[4 + j]!;
  }
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) p[i * 4 + j] = p[i * 4 + j]! - k[i * 2]! * rowH0[j]! - k[i * 2 + 1]! * rowH1[j]!;
  for (let i = 0; i < 4; i++)
    for (let j = i + 1; j < 4; j++) {
      const m = (p[i * 4 + j]! + p[j * 4 + i]!) / 2;
      p[i * 4 + j] = m;
      p[j * 4 + i] = m;
    }
}

/** Initial state for a new track: position from the measurement, velocity unknown (zero mean, wide). */
export function initialState(z0: number, z1: number, r: Cov2, speedSigma: number): { x: Vec4; p: Mat4 } {
  const x = new Float64Array([z0, z1, 0, 0]);
  const p = new Float64Array(16);
  p[0] = r[0];
  p[1] = p[4] = r[1];
  p[5] = r[2];
  p[10] = p[15] = speedSigma * speedSigma;
  return { x, p };
}

/** A constant-velocity Kalman filter with white-acceleration process noise: the tracker's filter. */
export class CvKalman {
  readonly x: Vec4;
  readonly p: Mat4;
  private readonly f = new Float64Array(16);
  private readonly q = new Float64Array(16);

  constructor(x: Vec4, p: Mat4) {
    this.x = x;
    this.p = p;
  }

  predict(dt: number, q: number): void {
    if (dt <= 0) return;
    predictBlockInPlace(this.x, this.p, constantVelocityF(dt, this.f), whiteAccelerationQ(dt, q, this.q));
  }

  innovation(z0: number, z1: number, r: Cov2): Innovation {
    return innovation(this.x, this.p, z0, z1, r);
  }

  update(inn: Innovation): void {
    updateInPlace(this.x, this.p, inn);
  }
}
