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

/** Kalman update in place with a precomputed innovation. */
export function updateInPlace(x: Vec4, p: Mat4, inn: Innovation): void {
  const [a, b, c] = inn.si;
  // K = P Hᵀ S⁻¹ (4×2); P Hᵀ is the first two columns of P.
  const k = new Float64Array(8);
  for (let i = 0; i < 4; i++) {
    const p0 = p[i * 4]!;
    const p1 = p[i * 4 + 1]!;
    k[i * 2] = p0 * a + p1 * b;
    k[i * 2 + 1] = p0 * b + p1 * c;
  }
  for (let i = 0; i < 4; i++) x[i] = x[i]! + k[i * 2]! * inn.y0 + k[i * 2 + 1]! * inn.y1;
  // P ← P − K H P  (H P is the first two rows of P); then symmetrise against round-off.
  const h0 = p.slice(0, 4);
  const h1 = p.slice(4, 8);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) p[i * 4 + j] = p[i * 4 + j]! - k[i * 2]! * h0[j]! - k[i * 2 + 1]! * h1[j]!;
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
  private readonly tmp = new Float64Array(16);

  constructor(x: Vec4, p: Mat4) {
    this.x = x;
    this.p = p;
  }

  predict(dt: number, q: number): void {
    if (dt <= 0) return;
    predictInPlace(this.x, this.p, constantVelocityF(dt, this.f), whiteAccelerationQ(dt, q, this.q), this.tmp);
  }

  innovation(z0: number, z1: number, r: Cov2): Innovation {
    return innovation(this.x, this.p, z0, z1, r);
  }

  update(inn: Innovation): void {
    updateInPlace(this.x, this.p, inn);
  }
}
