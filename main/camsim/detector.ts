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
  /** Ground truth for the last detect(): per observation, true when a real object caused it (tests and the bench only; never published). */
  lastTruth?(): readonly boolean[];
  /** This camera's clutter (where its false positives come from). */
  clutter?: Clutter;
}

/**
 * What makes one camera's false positives: a region of its view with glare or foliage where most
 * of them appear (mostly as one class: leaves moving read as an animal, a reflection on glass as a
 * person), small boxes cut by the image's left and right edges, and a rest scattered anywhere. Rates
 * and places differ per camera, so what a camera learns about its own false positives is its own.
 */
export interface Clutter {
  /** Chance per processed frame of one false positive. */
  rate: number;
  region: { left: number; top: number; right: number; bottom: number };
  regionClass: DetClass;
  /** Shares of false positives in the region and at the edges (the rest fall anywhere). */
  inRegion: number;
  atEdges: number;
}

export function clutterFor(rng: Rng): Clutter {
  const w = rng.range(0.15, 0.3);
  const h = rng.range(0.12, 0.25);
  const left = rng.range(0, 1 - w);
  const top = rng.range(0.05, 0.6);
  return {
    rate: rng.range(0.06, 0.12),
    region: { left: r4(left), top: r4(top), right: r4(left + w), bottom: r4(top + h) },
    regionClass: rng.chance(0.7) ? 'Animal' : 'Other',
    inRegion: rng.range(0.5, 0.7),
    atEdges: rng.range(0.15, 0.3),
  };
}

const r4 = (v: number): number => Math.round(v * 10000) / 10000;

/**
 * A per-camera detector model: recall ≈ 0.93 near the camera falling off with distance, small
 * size and image edges; false positives from the camera's own clutter (one per 8-16 frames); box jitter; class confusion;
 * scores that track how visible the object is; track ids that fragment after a gap.
 */
export function createDetector(opts: { cam: CameraModel; rng: Rng; model: ModelName; soc: Soc; clutter?: Clutter }): Detector {
  const { cam, rng } = opts;
  const tracks = new Map<string, { id: string; last: number }>();
  let nextTrack = 1;
  const mean = INFERENCE_MEAN_MS[opts.model][opts.soc];
  // False positives draw from their own stream, so they do not shift the true detections' draws.
  const fpRng = rng.fork(0xf9);
  const clutter = opts.clutter ?? clutterFor(rng.fork(0xc1));
  let lastTruth: boolean[] = [];

  const falsePositive = (ts: number): Observation => {
    const u = fpRng.next();
    let left: number;
    let top: number;
    let w: number;
    let h: number;
    let type: DetClass;
    if (u < clutter.inRegion) {
      // Leaves or glare: blobs as wide as they are tall or wider (people are tall, vehicles long and low).
      const g = clutter.region;
      w = fpRng.range(0.025, Math.min(0.09, g.right - g.left));
      h = Math.min(g.bottom - g.top, w * fpRng.range(0.5, 1.2));
      left = fpRng.range(g.left, g.right - w);
      top = fpRng.range(g.top, g.bottom - h);
      type = fpRng.chance(0.85) ? clutter.regionClass : fpRng.pick(['Human', 'Other', 'Animal', 'Car'] as const);
    } else if (u < clutter.inRegion + clutter.atEdges) {
      // Cut by the left or right border: narrow and small.
      w = fpRng.range(0.008, 0.03);
      h = fpRng.range(0.02, 0.08);
      left = fpRng.chance(0.5) ? 0 : 1 - w;
      top = fpRng.range(0.2, 1 - h);
      type = fpRng.pick(['Human', 'Other', 'Animal', 'Bike'] as const);
    } else {
      w = fpRng.range(0.02, 0.08);
      h = fpRng.range(0.04, 0.16);
      left = fpRng.range(0, 1 - w);
      top = fpRng.range(0.3, 1 - h);
      type = fpRng.pick(['Human', 'Other', 'Animal', 'Car'] as const);
    }
    // Scores overlap the true detections' (about 0.6-0.95): a score threshold alone cannot separate them.
    const score = Math.min(0.8, Math.max(0.3, fpRng.normal(0.5, 0.08)));
    return { bounding_box: { left: r4(left), top: r4(top), right: r4(left + w), bottom: r4(top + h) }, class: { type, score: r4(score) }, track_id: String(nextTrack++), timestamp: ts };
  };

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
    // False positives, from this camera's own clutter (see Clutter): learnable from where, how
    // large and of which class they are, with scores that overlap the true detections'.
    const truth = observations.map(() => true);
    if (fpRng.chance(clutter.rate)) {
      observations.push(falsePositive(ts));
      truth.push(false);
    }
    lastTruth = truth;
    const operations: DetectionFrame['operations'] = [];
    for (const [actorId, tr] of tracks) {
      if (ts - tr.last > TRACK_TIMEOUT_MS) {
        operations.push({ id: tr.id, type: 'DeleteOperation' });
        tracks.delete(actorId);
      }
    }
    return { timestamp: ts, observations, operations };
  };

  return { sampleInferenceMs, detect, lastTruth: () => lastTruth, clutter };
}
