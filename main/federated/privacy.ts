import type { Rng } from './random';

/** Scales v in place so its L2 norm is at most c; returns the norm before clipping. */
export function clipL2(v: Float32Array | Float64Array, c: number): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const norm = Math.sqrt(s);
  if (norm > c) {
    const f = c / norm;
    for (let i = 0; i < v.length; i++) v[i]! *= f;
  }
  return norm;
}

export function addGaussian(v: Float32Array | Float64Array, std: number, rng: Rng): void {
  if (std > 0) for (let i = 0; i < v.length; i++) v[i]! += std * rng.normal();
}

/**
 * Rényi-DP accountant for the Gaussian mechanism (Mironov 2017). One round releases the sum of
 * clipped camera updates (L2 sensitivity c under adding or removing one camera) plus Gaussian noise
 * of std σ·c, which is (α, α/(2σ²))-RDP; k rounds compose to k·α/(2σ²), and the conversion
 * ε = RDP(α) + log(1/δ)/(α − 1) is minimised over α in closed form:
 * ε = k/(2σ²) + √(2k·log(1/δ))/σ. No amplification by subsampling is claimed, because cameras are
 * chosen by link health, not uniformly at random.
 */
export function gaussianEpsilon(opts: { noiseMultiplier: number; rounds: number; delta: number }): number {
  const { noiseMultiplier: s, rounds: k, delta } = opts;
  if (k <= 0) return 0;
  if (!(s > 0)) return Infinity;
  return k / (2 * s * s) + Math.sqrt(2 * k * Math.log(1 / delta)) / s;
}

export type PrivacyLevel = 'off' | 'strong' | 'moderate' | 'weak';

/** Words for the UI: ε ≤ 1 is commonly called strong, ≤ 10 moderate, above that weak. */
export const privacyLevel = (enabled: boolean, epsilon: number): PrivacyLevel =>
  !enabled ? 'off' : epsilon <= 1 ? 'strong' : epsilon <= 10 ? 'moderate' : 'weak';

/**
 * The same conversion for a per-camera RDP budget B = Σ over its rounds of 1/σ² (rounds with
 * different noise compose by adding α/(2σ²)): ε = B/2 + √(2B·log(1/δ)).
 */
export function epsilonFromBudget(budget: number, delta: number): number {
  if (budget <= 0) return 0;
  return budget / 2 + Math.sqrt(2 * budget * Math.log(1 / delta));
}
