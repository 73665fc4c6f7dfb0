/**
 * Learning from outcomes: predictions are kept until their horizon has passed, then compared with
 * the track's filtered positions. Keeps ADE/FDE (per camera and overall) and the Brier score of the
 * zone-entry probabilities.
 */
import type { CameraId } from '../../preload/contract/camera-id';
import type { Zone } from './zones';
import { pointInPolygon } from './zones';

export interface PendingPrediction {
  trackId: string;
  cameraId: CameraId;
  t0: number; // s, frame clock
  dt: number;
  path: { x: number; y: number }[];
  /** zoneId → P(entered by the horizon). */
  zoneProbs: Record<string, number>;
}

export interface ErrorSums {
  ade: number;
  fde: number;
  n: number;
}

export interface OutcomeState {
  overall: ErrorSums;
  perCamera: Record<string, ErrorSums>;
  brierSum: number;
  brierN: number;
  unresolved: number;
}

export const emptyOutcomes = (): OutcomeState => ({ overall: { ade: 0, fde: 0, n: 0 }, perCamera: {}, brierSum: 0, brierN: 0, unresolved: 0 });

type History = readonly { t: number; x: number; y: number }[];

/** Position at time t by linear interpolation; undefined outside the history or across a gap > maxGap. */
export function positionAt(h: History, t: number, maxGap = 1.2): { x: number; y: number } | undefined {
  for (let i = 1; i < h.length; i++) {
    const a = h[i - 1]!;
    const b = h[i]!;
    if (t < a.t - 1e-9 || t > b.t + 1e-9) continue;
    if (b.t - a.t > maxGap) return undefined;
    const w = b.t > a.t ? (t - a.t) / (b.t - a.t) : 0;
    return { x: a.x + w * (b.x - a.x), y: a.y + w * (b.y - a.y) };
  }
  return undefined;
}

/**
 * Scores one prediction against what happened. Returns false when the track's history does not
 * cover the horizon (it ended, or a long gap), so the prediction cannot be judged.
 */
export function scorePrediction(state: OutcomeState, p: PendingPrediction, history: History, zones: readonly Zone[]): boolean {
  const actual: { x: number; y: number }[] = [];
  for (let k = 1; k <= p.path.length; k++) {
    const a = positionAt(history, p.t0 + k * p.dt);
    if (!a) {
      state.unresolved++;
      return false;
    }
    actual.push(a);
  }
  const d = actual.map((a, k) => Math.hypot(a.x - p.path[k]!.x, a.y - p.path[k]!.y));
  const ade = d.reduce((s, v) => s + v, 0) / d.length;
  const fde = d[d.length - 1]!;
  const cam = (state.perCamera[p.cameraId] ??= { ade: 0, fde: 0, n: 0 });
  for (const s of [state.overall, cam]) {
    s.ade += ade;
    s.fde += fde;
    s.n++;
  }
  const end = p.t0 + p.path.length * p.dt;
  for (const z of zones) {
    const prob = p.zoneProbs[z.id];
    if (prob === undefined) continue;
    // Outcome: was the track inside at any recorded position within the horizon?
    const entered = history.some((h) => h.t > p.t0 && h.t <= end + 1e-9 && pointInPolygon(h.x, h.y, z.polygon)) ? 1 : 0;
    state.brierSum += (prob - entered) ** 2;
    state.brierN++;
  }
  return true;
}
