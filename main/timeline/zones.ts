/** Restricted zones on the ground plane, the probability of entering one, and intervention points. */
import { FUTURE_STRIDE, type Future } from './imm';
import { gaussian, type Random } from './rng';

export interface GroundPoint {
  x: number;
  y: number;
}

export interface Zone {
  id: string;
  name: string;
  polygon: GroundPoint[];
  /** Entry probability at which to act. */
  threshold: number;
  /** Seconds somebody needs to act; an intervention point must leave at least this much. */
  reactionS: number;
  /** What to do, in the operator's words; a generic suggestion is used when absent. */
  action?: string;
}

/** Even–odd ray casting. Points exactly on an edge may fall either way, which is fine for metres-scale zones. */
export function pointInPolygon(x: number, y: number, poly: readonly GroundPoint[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i]!;
    const b = poly[j]!;
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

interface Box {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}
const bbox = (poly: readonly GroundPoint[]): Box => ({
  minX: Math.min(...poly.map((p) => p.x)),
  minY: Math.min(...poly.map((p) => p.y)),
  maxX: Math.max(...poly.map((p) => p.x)),
  maxY: Math.max(...poly.map((p) => p.y)),
});

/**
 * A fixed set of standard-normal pairs (drawn once from the injected seeded source) used as
 * common random numbers: every future and zone is evaluated with the same draws, so probabilities
 * are reproducible and comparable between ticks.
 */
export function normalSamples(random: Random, count = 128): Float64Array {
  const s = new Float64Array(count * 2);
  for (let i = 0; i < s.length; i++) s[i] = gaussian(random);
  return s;
}

/**
 * P(the object has entered the zone by step k), for k = 1..H, as the weighted fraction of sampled
 * paths that have been inside at some step ≤ k. A sample path is the future's mean plus L_k·z for a
 * fixed z (L_k the Cholesky factor of the step's position covariance), so each path is smooth and
 * "entered by" is monotone in k.
 */
export function entryProbabilities(futures: readonly Future[], zone: Zone, samples: Float64Array): Float64Array {
  const h = futures[0]?.steps ?? 0;
  const out = new Float64Array(h);
  const box = bbox(zone.polygon);
  const count = samples.length / 2;
  const entered = new Uint8Array(count);
  for (const f of futures) {
    const d = f.buf;
    const base = f.offset;
    // Skip a future whose 4-σ envelope never touches the zone's bounding box.
    let near = false;
    for (let k = 0; k < h; k++) {
      const o = base + k * FUTURE_STRIDE;
      const sx = 4 * Math.sqrt(d[o + 2]!);
      const sy = 4 * Math.sqrt(d[o + 4]!);
      if (d[o]! + sx >= box.minX && d[o]! - sx <= box.maxX && d[o + 1]! + sy >= box.minY && d[o + 1]! - sy <= box.maxY) {
        near = true;
        break;
      }
    }
    if (!near) continue;
    entered.fill(0);
    let n = 0;
    for (let k = 0; k < h; k++) {
      const o = base + k * FUTURE_STRIDE;
      const px = d[o]!;
      const py = d[o + 1]!;
      const l00 = Math.sqrt(Math.max(d[o + 2]!, 0));
      const l10 = l00 > 0 ? d[o + 3]! / l00 : 0;
      const l11 = Math.sqrt(Math.max(d[o + 4]! - l10 * l10, 0));
      for (let s = 0; s < count; s++) {
        if (entered[s]) continue;
        const z0 = samples[2 * s]!;
        const z1 = samples[2 * s + 1]!;
        const x = px + l00 * z0;
        const y = py + l10 * z0 + l11 * z1;
        if (x < box.minX || x > box.maxX || y < box.minY || y > box.maxY) continue;
        if (pointInPolygon(x, y, zone.polygon)) {
          entered[s] = 1;
          n++;
        }
      }
      out[k] = out[k]! + (f.weight * n) / count;
    }
  }
  return out;
}

export interface Intervention {
  trackId: string;
  zoneId: string;
  /** Probability of having entered by `at`. */
  probability: number;
  /** When the entry probability first passes the zone's threshold (ms, frame clock). */
  at: number;
  /** Seconds from now until `at`. */
  leadTimeS: number;
  /** Latest moment to start acting (at − reaction time), ms. */
  actBy: number;
  suggestedAction: string;
}

/**
 * The intervention point: the earliest step at which P(entered) passes the threshold, reported only
 * while its lead time still covers the zone's reaction time (later than that there is no time to
 * act, and the event is an incursion rather than something to prevent).
 */
export function interventionPoint(
  curve: Float64Array,
  dt: number,
  zone: Zone,
  trackId: string,
  startMs: number,
  /** Seconds between the start of the prediction and now (frames are not all at the same time). */
  elapsedS = 0,
): Intervention | undefined {
  for (let k = 0; k < curve.length; k++) {
    if (curve[k]! < zone.threshold) continue;
    const lead = (k + 1) * dt - elapsedS;
    if (lead < zone.reactionS) return undefined;
    const at = startMs + Math.round((k + 1) * dt * 1000);
    const slack = lead - zone.reactionS;
    const suggestedAction =
      zone.action ??
      (slack >= zone.reactionS
        ? `Warn at ${zone.name} (announcement or light) and keep watching; act within ${slack.toFixed(1)} s if it keeps coming.`
        : `Act now at ${zone.name}: send staff or close the access; ${lead.toFixed(1)} s left.`);
    return { trackId, zoneId: zone.id, probability: curve[k]!, at, leadTimeS: lead, actBy: at - Math.round(zone.reactionS * 1000), suggestedAction };
  }
  return undefined;
}
