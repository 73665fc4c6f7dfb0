import type { SimActor, SimActorClass } from './types';
import type { Rng } from './rng';
import { projectActorBox, type CameraModel } from './scene';

export type ModelName = 'ssd_mobilenet_v2' | 'yolov5n';
export type Soc = 'Axis Artpec-8' | 'Axis Artpec-9';

/** Mean larod inference times from the axis-model-zoo table. */
export const INFERENCE_MEAN_MS: Record<ModelName, Record<Soc, number>> = {
  ssd_mobilenet_v2: { 'Axis Artpec-8': 17.8, 'Axis Artpec-9': 10.5 },
  yolov5n: { 'Axis Artpec-8': 55.6, 'Axis Artpec-9': 31.9 },
};

export type DetClass = 'Human' | 'Car' | 'Truck' | 'Bus' | 'Bike' | 'Animal' | 'Other';

export interface Observation {
  bounding_box: { left: number; top: number; right: number; bottom: number };
  class: { type: DetClass; score: number };
  track_id: string;
  timestamp: number;
}

export interface DetectionFrame {
  timestamp: number;
  observations: Observation[];
  operations: { id: string; type: 'DeleteOperation' }[];
}

// Which class a true class is sometimes reported as, with its probability.
const CONFUSION: Record<SimActorClass, [DetClass, number][]> = {
  Human: [['Bike', 0.015], ['Other', 0.01]],
  Bike: [['Human', 0.12], ['Other', 0.03]],
  Car: [['Truck', 0.04], ['Bus', 0.01]],
  Truck: [['Car', 0.07], ['Bus', 0.05]],
};

const TRACK_TIMEOUT_MS = 1500;

export interface Detector {
  /** One inference time sample (ms): the model-zoo mean with ~8 % jitter and a rare slow outlier. */
  sampleInferenceMs(): number;
  detect(actors: readonly SimActor[], ts: number): DetectionFrame;
}

const r4 = (v: number): number => Math.round(v * 10000) / 10000;

/**
 * A per-camera detector model: recall ≈ 0.93 near the camera falling off with distance, small
 * size and image edges; a few false positives per 100 frames; box jitter; class confusion;
 * scores that track how visible the object is; track ids that fragment after a gap.
 */
export function createDetector(opts: { cam: CameraModel; rng: Rng; model: ModelName; soc: Soc }): Detector {
  const { cam, rng } = opts;
  const tracks = new Map<string, { id: string; last: number }>();
  let nextTrack = 1;
  const mean = INFERENCE_MEAN_MS[opts.model][opts.soc];

  const sampleInferenceMs = (): number => {
    const slow = rng.chance(0.01) ? rng.range(1.3, 1.8) : 1;
    return Math.round(Math.max(mean * 0.7, rng.normal(mean, mean * 0.08)) * slow * 10) / 10;
  };

  const detect = (actors: readonly SimActor[], ts: number): DetectionFrame => {
    const observations: Observation[] = [];
    for (const a of actors) {
      const dist = Math.hypot(a.x - cam.position.x, a.y - cam.position.y);
      if (dist > cam.maxRangeM) continue;
      const box = projectActorBox(cam, a);
      if (!box) continue;
      const full = (box.right - box.left) * (box.bottom - box.top);
      const l = Math.max(0, box.left);
      const r = Math.min(1, box.right);
      const t = Math.max(0, box.top);
      const b = Math.min(1, box.bottom);
      if (r <= l || b <= t || full <= 0) continue;
      const visible = ((r - l) * (b - t)) / full;
      if (visible < 0.35) continue;
      const h = b - t;
      const distFactor = dist < 18 ? 1 : Math.max(0.35, 1 - (dist - 18) / 50);
      const sizeFactor = Math.min(1, Math.max(0.1, (h - 0.015) / 0.05));
      const edgeFactor = visible < 0.999 ? 0.75 : 1;
      const p = 0.93 * distFactor * sizeFactor * edgeFactor;
      if (!rng.chance(p)) continue;
      // Box noise proportional to box size.
      const w = r - l;
      const jx = w * 0.035;
      const jy = h * 0.03;
      let left = Math.max(0, l + rng.normal(0, jx));
      let right = Math.min(1, r + rng.normal(0, jx));
      let top = Math.max(0, t + rng.normal(0, jy));
      let bottom = Math.min(1, b + rng.normal(0, jy));
      if (right - left < 0.002) right = Math.min(1, left + 0.002);
      if (bottom - top < 0.002) bottom = Math.min(1, top + 0.002);
      if (right <= left || bottom <= top) {
        left = l;
        right = r;
        top = t;
        bottom = b;
      }
      let type: DetClass = a.kind;
      let confused = false;
      for (const [other, prob] of CONFUSION[a.kind]) {
        if (rng.chance(prob)) {
          type = other;
          confused = true;
          break;
        }
      }
      const quality = p / 0.93;
      const score = Math.min(0.99, Math.max(0.3, rng.normal(0.55 + 0.38 * quality - (confused ? 0.15 : 0), 0.06)));
      let track = tracks.get(a.id);
      if (!track || ts - track.last > TRACK_TIMEOUT_MS) {
        track = { id: String(nextTrack++), last: ts };
        tracks.set(a.id, track);
      }
      track.last = ts;
      observations.push({ bounding_box: { left: r4(left), top: r4(top), right: r4(right), bottom: r4(bottom) }, class: { type, score: r4(score) }, track_id: track.id, timestamp: ts });
    }
    // False positives: a few per 100 frames, low scores, short-lived tracks.
    if (rng.chance(0.03)) {
      const w = rng.range(0.02, 0.08);
      const hh = rng.range(0.04, 0.16);
      const left = rng.range(0, 1 - w);
      const top = rng.range(0.3, 1 - hh);
      observations.push({
        bounding_box: { left: r4(left), top: r4(top), right: r4(left + w), bottom: r4(top + hh) },
        class: { type: rng.pick(['Human', 'Other', 'Animal', 'Car'] as const), score: r4(rng.range(0.3, 0.55)) },
        track_id: String(nextTrack++),
        timestamp: ts,
      });
    }
    const operations: DetectionFrame['operations'] = [];
    for (const [actorId, tr] of tracks) {
      if (ts - tr.last > TRACK_TIMEOUT_MS) {
        operations.push({ id: tr.id, type: 'DeleteOperation' });
        tracks.delete(actorId);
      }
    }
    return { timestamp: ts, observations, operations };
  };

  return { sampleInferenceMs, detect };
}
