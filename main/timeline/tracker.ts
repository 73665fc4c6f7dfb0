/**
 * Multi-camera ground-plane tracker: every camera's detections are mapped to the ground and fused
 * into one set of tracks (so a track keeps its id when it walks from one camera's view into the
 * next). Constant-velocity Kalman filter per track, Mahalanobis gating, Hungarian association,
 * birth after N hits and death after M misses. Each track also runs an IMM for its futures.
 */
import { apply, invert3, jacobian, footPoint, type Mat3 } from './homography';
import { FORBIDDEN, hungarian } from './hungarian';
import { CHI2_2DOF_95, CvKalman, initialState, type Cov2 } from './kalman';
import { Imm, ModelSet, defaultModels, defaultSwitchMatrix, type MotionModel, type Switching } from './imm';

export interface Observation {
  bounding_box: { left: number; top: number; right: number; bottom: number };
  class: { type: string; score?: number };
  track_id?: string;
  timestamp?: number;
}

export interface TrackerConfig {
  gate: number;
  birthHits: number;
  /** Misses (frames of a camera that should have seen it) before a confirmed track ends. */
  deathMisses: number;
  /** Misses before a tentative track is dropped. */
  tentativeMisses: number;
  /** A track nobody updates for this long ends even when no camera covers it. */
  maxCoastS: number;
  /** White-acceleration spectral density of the tracking filter, m²/s³ (adapted online). */
  q: number;
  /** Prior σ of a new track's speed, m/s. */
  speedSigma: number;
  /** Smallest measurement σ on the ground, m (annotation and foot-point error). */
  floorSigmaM: number;
  historyS: number;
}

export const defaultTrackerConfig: TrackerConfig = {
  gate: CHI2_2DOF_95,
  birthHits: 3,
  deathMisses: 5,
  tentativeMisses: 2,
  maxCoastS: 3,
  q: 0.5,
  speedSigma: 2,
  floorSigmaM: 0.05,
  historyS: 12,
};

export interface Camera {
  id: string;
  h: Mat3;
  hInv: Mat3;
  /** σ of the foot point in normalised image units. */
  sigmaImage: number;
}

export interface Track {
  id: string;
  cls: string;
  kf: CvKalman;
  imm: Imm;
  t: number; // seconds, frame clock
  bornAt: number;
  lastUpdate: number;
  hits: number;
  /**
   * Consecutive frames, per covering camera, without any camera updating the track. Counting per
   * camera keeps two overlapping cameras from ending a track twice as fast as one.
   */
  missesBy: Map<string, number>;
  confirmed: boolean;
  lastCamera: string;
  cameras: Set<string>;
  /** Filtered positions after each update (for outcome checks). */
  history: { t: number; x: number; y: number }[];
}

export interface Measurement {
  x: number;
  y: number;
  r: Cov2;
  cls: string;
}

export interface TrackerEvents {
  onEnded?: (t: Track) => void;
}

export class Tracker {
  readonly cameras = new Map<string, Camera>();
  readonly tracks = new Map<string, Track>();
  readonly switching: Switching;
  readonly config: TrackerConfig;
  private nextId = 1;
  private readonly modelSet: ModelSet;
  /** Normalised innovation squared statistics for process-noise adaptation. */
  nisSum = 0;
  nisCount = 0;

  constructor(
    config: Partial<TrackerConfig> = {},
    readonly models: readonly MotionModel[] = defaultModels,
    private readonly events: TrackerEvents = {},
    switching?: Switching,
  ) {
    this.config = { ...defaultTrackerConfig, ...config };
    this.switching = switching ?? { n: models.length, pi: defaultSwitchMatrix(models.length) };
    this.modelSet = new ModelSet(models);
  }

  setCamera(id: string, h: Mat3, sigmaImage = 0.004): void {
    this.cameras.set(id, { id, h, hInv: invert3(h), sigmaImage });
  }

  /** Maps one camera's boxes to ground measurements; boxes above the horizon are dropped. */
  measurements(cam: Camera, observations: readonly Observation[]): Measurement[] {
    const out: Measurement[] = [];
    const floor = this.config.floorSigmaM ** 2;
    const s2 = cam.sigmaImage ** 2;
    for (const o of observations) {
      const f = footPoint(o.bounding_box);
      const g = apply(cam.h, f.u, f.v);
      if (!g) continue;
      const [a, b, c, d] = jacobian(cam.h, f.u, f.v);
      // R = J diag(σ², σ²) Jᵀ: far from the camera a pixel spans more ground, so R grows.
      out.push({ x: g.x, y: g.y, r: [s2 * (a * a + b * b) + floor, s2 * (a * c + b * d), s2 * (c * c + d * d) + floor], cls: o.class.type });
    }
    return out;
  }

  /** Whether the camera's image contains this ground point (so a missing detection counts as a miss). */
  covers(cam: Camera, x: number, y: number): boolean {
    const p = apply(cam.hInv, x, y);
    return !!p && p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1;
  }

  /**
   * One camera frame. `t` is the frame's capture time in seconds. Frames from different cameras
   * may interleave; a frame older than a track's last update is applied at the track's time
   * (dt clamped to 0), which costs a little accuracy but never runs a filter backwards.
   */
  ingest(cameraId: string, t: number, observations: readonly Observation[]): { measurements: number; assigned: number; born: number } {
    const cam = this.cameras.get(cameraId);
    if (!cam) return { measurements: 0, assigned: 0, born: 0 };
    const ms = this.measurements(cam, observations);
    const cfg = this.config;
    const tracks = [...this.tracks.values()];
    for (const tr of tracks) {
      if (t > tr.t) {
        tr.kf.predict(t - tr.t, cfg.q);
        tr.t = t;
      }
    }
    // Gated cost matrix, restricted to tracks that could take any measurement.
    const m = ms.length;
    const cols: number[] = [];
    const d2s: number[][] = [];
    const innovations: ReturnType<CvKalman['innovation']>[][] = [];
    for (let j = 0; j < tracks.length; j++) {
      const tr = tracks[j]!;
      let any = false;
      const row: number[] = [];
      const inns: ReturnType<CvKalman['innovation']>[] = [];
      for (let i = 0; i < m; i++) {
        const z = ms[i]!;
        // Cheap reject before the Mahalanobis test: 30 m away is never the same object.
        if (z.cls !== tr.cls || Math.abs(z.x - tr.kf.x[0]!) > 30 || Math.abs(z.y - tr.kf.x[1]!) > 30) {
          row.push(Infinity);
          inns.push(undefined as never);
          continue;
        }
        const inn = tr.kf.innovation(z.x, z.y, z.r);
        inns.push(inn);
        row.push(inn.d2 <= cfg.gate ? inn.d2 + Math.log(inn.detS) : Infinity);
        if (inn.d2 <= cfg.gate) any = true;
      }
      if (any) {
        cols.push(j);
        d2s.push(row);
        innovations.push(inns);
      }
    }
    const n = cols.length;
    // Costs d² + ln|S| (negative log-likelihood up to a constant) so a vague tentative track does
    // not win over a precise one just because its Mahalanobis distance is small. Shifted to ≥ 0.
    let minCost = 0;
    for (const row of d2s) for (const c of row) if (Number.isFinite(c)) minCost = Math.min(minCost, c);
    const cost = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let k = 0; k < n; k++) {
        const c = d2s[k]![i]!;
        cost[i * n + k] = Number.isFinite(c) ? c - minCost : FORBIDDEN;
      }
    const assign = hungarian(cost, m, n);
    const updated = new Set<Track>();
    let born = 0;
    for (let i = 0; i < m; i++) {
      const z = ms[i]!;
      const k = assign[i]!;
      if (k >= 0) {
        const tr = tracks[cols[k]!]!;
        const inn = innovations[k]![i]!;
        this.nisSum += inn.d2;
        this.nisCount++;
        tr.kf.update(inn);
        tr.imm.step(t, z.x, z.y, z.r);
        tr.hits++;
        tr.missesBy.clear();
        tr.lastUpdate = t;
        tr.lastCamera = cameraId;
        tr.cameras.add(cameraId);
        if (!tr.confirmed && tr.hits >= cfg.birthHits) tr.confirmed = true;
        tr.history.push({ t, x: tr.kf.x[0]!, y: tr.kf.x[1]! });
        while (tr.history.length > 2 && tr.history[0]!.t < t - cfg.historyS) tr.history.shift();
        updated.add(tr);
      } else {
        this.birth(z, t, cameraId);
        born++;
      }
    }
    for (const tr of tracks) {
      if (updated.has(tr)) continue;
      let misses = 0;
      if (this.covers(cam, tr.kf.x[0]!, tr.kf.x[1]!)) {
        misses = (tr.missesBy.get(cameraId) ?? 0) + 1;
        tr.missesBy.set(cameraId, misses);
      }
      const limit = tr.confirmed ? cfg.deathMisses : cfg.tentativeMisses;
      if (misses >= limit || t - tr.lastUpdate > cfg.maxCoastS) this.end(tr);
    }
    return { measurements: m, assigned: updated.size, born };
  }

  private birth(z: Measurement, t: number, cameraId: string): Track {
    const { x, p } = initialState(z.x, z.y, z.r, this.config.speedSigma);
    const tr: Track = {
      id: `t${this.nextId++}`,
      cls: z.cls,
      kf: new CvKalman(x, p),
      imm: new Imm(this.models, this.switching, x, p, t, this.modelSet),
      t,
      bornAt: t,
      lastUpdate: t,
      hits: 1,
      missesBy: new Map(),
      confirmed: this.config.birthHits <= 1,
      lastCamera: cameraId,
      cameras: new Set([cameraId]),
      history: [{ t, x: z.x, y: z.y }],
    };
    this.tracks.set(tr.id, tr);
    return tr;
  }

  private end(tr: Track): void {
    this.tracks.delete(tr.id);
    this.events.onEnded?.(tr);
  }

  /** Ends tracks nobody has updated for maxCoastS (no camera covers them any more). */
  sweep(t: number): void {
    for (const tr of [...this.tracks.values()]) if (t - tr.lastUpdate > this.config.maxCoastS) this.end(tr);
  }
}
