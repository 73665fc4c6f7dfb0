import type { Rng } from './random';
import type { Vec } from './robust';

/**
 * The adversary model for testing robust aggregation: k of the m cameras in a round are poisoned
 * and send a crafted update instead of the one their local training produced.
 * - scale: λ × its own honest update (a boosted update, as in model replacement);
 * - sign-flip: −λ × its own honest update;
 * - gaussian: an independent N(0, σ²I) vector per poisoned camera;
 * - alie: "A little is enough" (Baruch, Baruch & Goldberg 2019), colluding: every poisoned camera
 *   sends μ − z·σ per coordinate, μ and σ the mean and standard deviation of the honest updates of
 *   all m cameras (the omniscient variant, the strongest), z by default the paper's
 *   z_max = Φ⁻¹((m − s)/m) with s = ⌊m/2 + 1⌋ − k, small enough to stay inside the honest spread;
 * - ipm: inner-product manipulation (Xie, Koyejo & Gupta 2020, "Fall of empires"), colluding: every
 *   poisoned camera sends −ε × the mean of the honest cameras' updates.
 */
export type Attack =
  | { kind: 'none' }
  | { kind: 'scale'; lambda: number }
  | { kind: 'sign-flip'; lambda: number }
  | { kind: 'gaussian'; sigma: number }
  | { kind: 'alie'; z?: number }
  | { kind: 'ipm'; epsilon: number };

export const attackName = (a: Attack): string =>
  a.kind === 'none'
    ? 'none'
    : a.kind === 'scale'
      ? `scale×${a.lambda}`
      : a.kind === 'sign-flip'
        ? `sign-flip×${a.lambda}`
        : a.kind === 'gaussian'
          ? `gaussian σ=${a.sigma}`
          : a.kind === 'alie'
            ? `alie z=${a.z ?? 'zmax'}`
            : `ipm ε=${a.epsilon}`;

/** Standard normal CDF (Abramowitz & Stegun 26.2.17, absolute error below 7.5e-8). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = (Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI)) * poly;
  return x >= 0 ? 1 - tail : tail;
}

/** Φ⁻¹(p) by bisection on normalCdf (p clamped to [1e-9, 1 − 1e-9]). */
export function normalQuantile(p: number): number {
  const q = Math.min(1 - 1e-9, Math.max(1e-9, p));
  let lo = -7;
  let hi = 7;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Baruch et al.'s z_max for k colluders among m: the largest shift that enough honest updates exceed. */
export function alieZ(m: number, k: number): number {
  const s = Math.floor(m / 2 + 1) - k;
  return normalQuantile(Math.min(0.999, Math.max(0.5, (m - s) / m)));
}

/** k distinct camera positions among m, drawn uniformly (sorted). */
export function pickByzantine(m: number, k: number, rng: Rng): number[] {
  if (!(k >= 0 && k <= m && Number.isInteger(k))) throw new Error(`cannot poison ${k} of ${m} cameras`);
  const order = Array.from({ length: m }, (_, i) => i);
  for (let i = m - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, k).sort((a, b) => a - b);
}

/**
 * The updates the coordinator receives: the honest ones, except at the poisoned positions, which
 * carry the attack. `honest` is what every camera's local training produced (a poisoned camera
 * trains too: scale and sign-flip start from its own update).
 */
export function poisonUpdates(honest: Vec[], byzantine: readonly number[], attack: Attack, rng: Rng): Float64Array[] {
  const m = honest.length;
  const d = honest[0]?.length ?? 0;
  const out = honest.map((u) => Float64Array.from(u));
  const bad = new Set(byzantine);
  if (attack.kind === 'none' || bad.size === 0) return out;
  for (const i of bad) if (!(i >= 0 && i < m)) throw new Error(`poisoned position ${i} is not among ${m} updates`);

  let crafted: Float64Array | undefined;
  if (attack.kind === 'alie') {
    const mu = new Float64Array(d);
    const sd = new Float64Array(d);
    for (const u of honest) for (let i = 0; i < d; i++) mu[i]! += u[i]! / m;
    for (const u of honest) for (let i = 0; i < d; i++) sd[i]! += (u[i]! - mu[i]!) ** 2 / m;
    const z = attack.z ?? alieZ(m, bad.size);
    crafted = mu.map((x, i) => x - z * Math.sqrt(sd[i]!));
  } else if (attack.kind === 'ipm') {
    const good = honest.filter((_, i) => !bad.has(i));
    const mean = new Float64Array(d);
    for (const u of good) for (let i = 0; i < d; i++) mean[i]! += u[i]! / Math.max(1, good.length);
    crafted = mean.map((x) => -attack.epsilon * x);
  }
  for (const j of [...bad].sort((a, b) => a - b)) {
    const u = honest[j]!;
    const v = out[j]!;
    if (crafted) v.set(crafted);
    else if (attack.kind === 'scale') for (let i = 0; i < d; i++) v[i] = attack.lambda * u[i]!;
    else if (attack.kind === 'sign-flip') for (let i = 0; i < d; i++) v[i] = -attack.lambda * u[i]!;
    else if (attack.kind === 'gaussian') for (let i = 0; i < d; i++) v[i] = attack.sigma * rng.normal();
  }
  return out;
}
