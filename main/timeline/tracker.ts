/**
 * Multi-camera ground-plane tracker: every camera's detections are mapped to the ground and fused
 * into one set of tracks (so a track keeps its id when it walks from one camera's view into the
 * next). Constant-velocity Kalman filter per track, Mahalanobis gating, Hungarian association,
 * birth after N hits and death after M misses. Each track also runs an IMM for its futures.
 */
import type { CameraId } from '../../preload/contract/camera-id';
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
  /**
   * Side of the cells of the spatial index over tracks, m. A frame predicts and miss-checks only
   * the tracks whose reach overlaps its camera's view or its measurements; 0 turns the index off
   * (every track is predicted and checked on every frame, the reference behaviour).
   */
  indexCellM: number;
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
  indexCellM: 16,
};

export interface Camera {
  id: string;
  h: Mat3;
  hInv: Mat3;
  /** σ of the foot point in normalised image units. */
  sigmaImage: number;
  /** Ground bounding box of the image (infinite sides when the horizon is in view). */
  footprint: { minX: number; minY: number; maxX: number; maxY: number };
}

/**
 * Ground bounding box of the normalised image through h. The image border is sampled (a
 * homography maps the border's segments to segments, so the corners bound it unless the horizon
 * crosses the image); when any border point maps beyond the horizon the box is left unbounded.
 */
export function groundFootprint(h: Mat3): Camera['footprint'] {
  const box = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (let k = 0; k <= 16; k++) {
    const s = k / 16;
    for (const [u, v] of [[s, 0], [s, 1], [0, s], [1, s]] as const) {
      const g = apply(h, u, v);
      if (!g) return { minX: -Infinity, minY: -Infinity, maxX: Infinity, maxY: Infinity };
      box.minX = Math.min(box.minX, g.x);
      box.minY = Math.min(box.minY, g.y);
      box.maxX = Math.max(box.maxX, g.x);
      box.maxY = Math.max(box.maxY, g.y);
    }
  }
  return box;
}

/** The bounding box of a frame's ground measurements (Infinity/-Infinity when there are none). */
function boundsOf(ms: readonly Measurement[]): { minX: number; minY: number; maxX: number; maxY: number } {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const z of ms) {
    minX = Math.min(minX, z.x);
    minY = Math.min(minY, z.y);
    maxX = Math.max(maxX, z.x);
    maxY = Math.max(maxY, z.y);
  }
  return { minX, minY, maxX, maxY };
}

/**
 * Uniform grid over one frame's measurements (bucketed by counting sort into typed arrays), so a
 * track's gate visits only the cells within its radius.
 */
export class MeasurementGrid {
  private constructor(
    private readonly ms: readonly Measurement[],
    private readonly x0: number,
    private readonly y0: number,
    private readonly cell: number,
    private readonly nx: number,
    private readonly ny: number,
    private readonly start: Int32Array,
    private readonly items: Int32Array,
  ) {}

  static build(ms: readonly Measurement[]): MeasurementGrid {
    if (ms.length === 0) return new MeasurementGrid(ms, 0, 0, 1, 1, 1, new Int32Array(2), new Int32Array(0));
    const { minX, minY, maxX, maxY } = boundsOf(ms);
    // About one measurement per cell, at most 64 × 64 cells, never finer than 0.5 m.
    const side = Math.max(maxX - minX, maxY - minY, 1e-3);
    const cell = Math.max(0.5, side / Math.min(64, Math.ceil(Math.sqrt(ms.length)) + 1));
    const nx = Math.floor((maxX - minX) / cell) + 1;
    const ny = Math.floor((maxY - minY) / cell) + 1;
    const start = new Int32Array(nx * ny + 1);
    const cellOf = new Int32Array(ms.length);
    ms.forEach((z, i) => {
      const c = Math.floor((z.y - minY) / cell) * nx + Math.floor((z.x - minX) / cell);
      cellOf[i] = c;
      start[c + 1]!++;
    });
    for (let c = 0; c < nx * ny; c++) start[c + 1] = start[c + 1]! + start[c]!;
    const fill = start.slice(0, nx * ny);
    const items = new Int32Array(ms.length);
    for (let i = 0; i < ms.length; i++) items[fill[cellOf[i]!]!++] = i;
    return new MeasurementGrid(ms, minX, minY, cell, nx, ny, start, items);
  }

  /** Indices of measurements in the cells overlapping the square of `radius` around (x, y), into out; returns how many. */
  near(x: number, y: number, radius: number, out: Int32Array): number {
    if (this.ms.length === 0) return 0;
    const cx0 = Math.max(0, Math.floor((x - radius - this.x0) / this.cell));
    const cx1 = Math.min(this.nx - 1, Math.floor((x + radius - this.x0) / this.cell));
    const cy0 = Math.max(0, Math.floor((y - radius - this.y0) / this.cell));
    const cy1 = Math.min(this.ny - 1, Math.floor((y + radius - this.y0) / this.cell));
    let k = 0;
    for (let cy = cy0; cy <= cy1; cy++)
      for (let cx = cx0; cx <= cx1; cx++) {
        const c = cy * this.nx + cx;
        for (let e = this.start[c]!; e < this.start[c + 1]!; e++) out[k++] = this.items[e]!;
      }
    return k;
  }
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
  missesBy: Map<CameraId, number>;
  confirmed: boolean;
  lastCamera: CameraId;
  cameras: Set<CameraId>;
  /** Filtered positions after each update (for outcome checks). */
  history: { t: number; x: number; y: number }[];
}

export interface Measurement {
  x: number;
  y: number;
  r: Cov2;
  cls: string;
}

/** Where a track can be until it must end (see the spatial index in Tracker). */
interface Reach {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  /** The range of cells it is filed under (empty when cells is). */
  cx0: number;
  cx1: number;
  cy0: number;
  cy1: number;
  cells: number[];
  /** Last query (frame) that took it, to take it once. */
  query: number;
  /** Last frame that updated it. */
  updated: number;
  /** The lastUpdate its entry in the coasting heap is keyed by (NaN once popped). */
  scheduled: number;
}

const CELL_OFFSET = 2 ** 20;
const CELL_SPAN = 2 ** 21;
const MAX_CELLS_PER_TRACK = 64;

export interface TrackerEvents {
  onEnded?: (t: Track) => void;
}

export class Tracker {
  readonly cameras = new Map<CameraId, Camera>();
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

  setCamera(id: CameraId, h: Mat3, sigmaImage = 0.004): void {
    // A homography is defined up to scale, sign included: scale both directions so that points the
    // camera sees map with a positive w (apply() refuses w ≤ 0 as beyond the horizon).
    const hs = h[6] * 0.5 + h[7] * 1 + h[8] < 0 ? (h.map((v) => -v) as Mat3) : h;
    let hInv = invert3(hs);
    const g0 = apply(hs, 0.5, 1);
    if (g0 && hInv[6] * g0.x + hInv[7] * g0.y + hInv[8] < 0) hInv = hInv.map((v) => -v) as Mat3;
    this.cameras.set(id, { id, h: hs, hInv, sigmaImage, footprint: groundFootprint(hs) });
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
    const b = cam.footprint;
    if (x < b.minX || x > b.maxX || y < b.minY || y > b.maxY) return false;
    const p = apply(cam.hInv, x, y);
    return !!p && p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1;
  }

  /**
   * One camera frame. `t` is the frame's capture time in seconds. Frames from different cameras
   * may interleave; a frame older than a track's last update is applied at the track's time
   * (dt clamped to 0), which costs a little accuracy but never runs a filter backwards.
   */
  ingest(cameraId: CameraId, t: number, observations: readonly Observation[]): { measurements: number; assigned: number; born: number } {
    const cam = this.cameras.get(cameraId);
    if (!cam) return { measurements: 0, assigned: 0, born: 0 };
    const ms = this.measurements(cam, observations);
    const cfg = this.config;
    let maxTraceR = 0;
    for (const z of ms) maxTraceR = Math.max(maxTraceR, z.r[0] + z.r[2]);
    // Only the tracks this frame can touch: those its camera may see (missed-detection checks) and
    // those a measurement may gate with. The rest keep their state at their own time and are
    // predicted when next needed (CV predictions compose: one long step equals several short ones).
    const tracks = this.candidatesFor(cam, ms, maxTraceR, t);
    for (const tr of tracks) this.predictTo(tr, t);
    const m = ms.length;
    const grid = MeasurementGrid.build(ms);
    // Gating through the grid: a measurement can pass the Mahalanobis gate only within
    // √(gate·λmax(S)) metres of the prediction, and λmax(S) ≤ trace(S) ≤ trace(P) + max trace(R),
    // so only grid cells within that radius are visited (no all-pairs scan).
    const cols: number[] = [];
    const costs: number[] = []; // per gated track: m cells, Infinity where out of gate
    let minCost = 0;
    if (this.candidates.length < m) this.candidates = new Int32Array(m);
    const found = this.candidates;
    for (let j = 0; j < tracks.length && m > 0; j++) {
      const tr = tracks[j]!;
      const x = tr.kf.x;
      const p = tr.kf.p;
      const radius = Math.sqrt(cfg.gate * (p[0]! + p[5]! + maxTraceR));
      const hits = grid.near(x[0]!, x[1]!, radius, found);
      if (hits === 0) continue;
      let any = false;
      const base = costs.length;
      for (let i = 0; i < m; i++) costs.push(Infinity);
      for (let h = 0; h < hits; h++) {
        const i = found[h]!;
        const z = ms[i]!;
        if (z.cls !== tr.cls) continue;
        const s00 = p[0]! + z.r[0];
        const s01 = p[1]! + z.r[1];
        const s11 = p[5]! + z.r[2];
        const det = s00 * s11 - s01 * s01;
        const y0 = z.x - x[0]!;
        const y1 = z.y - x[1]!;
        const d2 = (y0 * y0 * s11 - 2 * y0 * y1 * s01 + y1 * y1 * s00) / det;
        if (d2 > cfg.gate) continue;
        // Cost d² + ln|S| (negative log-likelihood up to a constant) so a vague tentative track
        // does not win over a precise one just because its Mahalanobis distance is small.
        const c = d2 + Math.log(det);
        costs[base + i] = c;
        if (c < minCost) minCost = c;
        any = true;
      }
      if (any) cols.push(j);
      else costs.length = base;
    }
    const n = cols.length;
    // Shifted to ≥ 0 for the assignment.
    const cost = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let k = 0; k < n; k++) {
        const c = costs[k * m + i]!;
        cost[i * n + k] = Number.isFinite(c) ? c - minCost : FORBIDDEN;
      }
    const assign = n > 0 ? hungarian(cost, m, n) : new Int32Array(m).fill(-1);
    const stamp = ++this.frameStamp;
    let assigned = 0;
    let born = 0;
    for (let i = 0; i < m; i++) {
      const z = ms[i]!;
      const k = assign[i]!;
      if (k >= 0) {
        const tr = tracks[cols[k]!]!;
        const inn = tr.kf.innovation(z.x, z.y, z.r);
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
        this.reachOf(tr).updated = stamp;
        this.place(tr);
        assigned++;
      } else {
        this.birth(z, t, cameraId);
        born++;
      }
    }
    for (const tr of tracks) {
      if (!this.tracks.has(tr.id) || this.reachOf(tr).updated === stamp) continue;
      let misses = 0;
      if (this.covers(cam, tr.kf.x[0]!, tr.kf.x[1]!)) {
        misses = (tr.missesBy.get(cameraId) ?? 0) + 1;
        tr.missesBy.set(cameraId, misses);
      }
      const limit = tr.confirmed ? cfg.deathMisses : cfg.tentativeMisses;
      if (misses >= limit || t - tr.lastUpdate > cfg.maxCoastS) this.end(tr);
    }
    return { measurements: m, assigned, born };
  }

  /** Kalman predictions run so far (tracks × frames that moved a track's clock); for tests of the work per frame. */
  predictions = 0;

  /** Predicts a track's filter forward to t (never backwards). */
  predictTo(tr: Track, t: number): void {
    if (t > tr.t) {
      tr.kf.predict(t - tr.t, this.config.q);
      tr.t = t;
      this.predictions++;
    }
  }

  /**
   * A track's filter state at time t without changing the track (for display): position,
   * velocity and position covariance.
   */
  stateAt(tr: Track, t: number): { x: number; y: number; vx: number; vy: number; cov: Cov2 } {
    const x = tr.kf.x;
    const p = tr.kf.p;
    const d = Math.max(0, t - tr.t);
    if (d === 0) return { x: x[0]!, y: x[1]!, vx: x[2]!, vy: x[3]!, cov: [p[0]!, p[1]!, p[5]!] };
    const kf = new CvKalman(Float64Array.from(x), Float64Array.from(p));
    kf.predict(d, this.config.q);
    return { x: kf.x[0]!, y: kf.x[1]!, vx: kf.x[2]!, vy: kf.x[3]!, cov: [kf.p[0]!, kf.p[1]!, kf.p[5]!] };
  }

  // ---- spatial index over tracks ---------------------------------------------------------------
  // A track is filed under the grid cells its "reach" overlaps: the box its predicted mean can be
  // in until it must end (lastUpdate + maxCoastS), widened by the largest gate radius its predicted
  // covariance can give over that time. A frame queries the cells of its camera's footprint and of
  // its measurements (widened by the measurement part of the gate radius) and predicts only those
  // tracks. Since √(a + b) ≤ √a + √b, a track outside that query can neither gate with a
  // measurement nor lie in the camera's view. Tracks past their coasting time are found through a
  // heap of deadlines, so they end on the first frame after it as before.
  private readonly cells = new Map<number, Set<Track>>();
  /** Tracks whose reach is unbounded or spans too many cells: candidates of every frame. */
  private readonly wide = new Set<Track>();
  private readonly reach = new Map<Track, Reach>();
  private frameStamp = 0;
  private queryStamp = 0;
  private readonly scratch: Track[] = [];
  private readonly expiredScratch: Track[] = [];
  /** q the reaches were computed with; a larger q (online adaptation) widens them all again. */
  private indexedQ = 0;
  private readonly deadlineT: number[] = [];
  private readonly deadlineTrack: Track[] = [];

  private reachOf(tr: Track): Reach {
    let r = this.reach.get(tr);
    if (!r) {
      r = { minX: 0, minY: 0, maxX: 0, maxY: 0, cx0: 0, cx1: -1, cy0: 0, cy1: -1, cells: [], query: 0, updated: 0, scheduled: NaN };
      this.reach.set(tr, r);
    }
    return r;
  }

  private cellKey(ix: number, iy: number): number {
    return (ix + CELL_OFFSET) * CELL_SPAN + (iy + CELL_OFFSET);
  }

  /** (Re)files a track after birth or update, and schedules its coasting deadline. */
  private place(tr: Track): void {
    const r = this.reachOf(tr);
    if (tr.lastUpdate !== r.scheduled) {
      r.scheduled = tr.lastUpdate;
      this.pushDeadline(tr.lastUpdate, tr);
    }
    const deadline = tr.lastUpdate + this.config.maxCoastS;
    const cellM = this.config.indexCellM;
    if (!(cellM > 0)) return;
    const q = this.config.q;
    this.indexedQ = Math.max(this.indexedQ, q);
    const x = tr.kf.x;
    const p = tr.kf.p;
    const d = Math.max(0, deadline - tr.t);
    // Largest position variance over [0, d]: each term of p(τ) = p + 2τ·pxv + τ²·pvv + qτ³/3 at its largest.
    const qd = (this.indexedQ * d ** 3) / 3;
    const v0 = p[0]! + 2 * d * Math.abs(p[2]!) + d * d * p[10]! + qd;
    const v1 = p[5]! + 2 * d * Math.abs(p[7]!) + d * d * p[15]! + qd;
    const rad = Math.sqrt(this.config.gate * (v0 + v1));
    const ex = x[0]! + x[2]! * d;
    const ey = x[1]! + x[3]! * d;
    r.minX = Math.min(x[0]!, ex) - rad;
    r.maxX = Math.max(x[0]!, ex) + rad;
    r.minY = Math.min(x[1]!, ey) - rad;
    r.maxY = Math.max(x[1]!, ey) + rad;
    const cx0 = Math.floor(r.minX / cellM), cx1 = Math.floor(r.maxX / cellM);
    const cy0 = Math.floor(r.minY / cellM), cy1 = Math.floor(r.maxY / cellM);
    if (!Number.isFinite(rad) || (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_CELLS_PER_TRACK) {
      this.unfile(tr, r);
      this.wide.add(tr);
      return;
    }
    // Same cells as before (the usual case for an update): nothing to move.
    if (r.cells.length > 0 && r.cx0 === cx0 && r.cx1 === cx1 && r.cy0 === cy0 && r.cy1 === cy1) return;
    this.unfile(tr, r);
    r.cx0 = cx0;
    r.cx1 = cx1;
    r.cy0 = cy0;
    r.cy1 = cy1;
    for (let cx = cx0; cx <= cx1; cx++)
      for (let cy = cy0; cy <= cy1; cy++) {
        const key = this.cellKey(cx, cy);
        let set = this.cells.get(key);
        if (!set) this.cells.set(key, (set = new Set()));
        set.add(tr);
        r.cells.push(key);
      }
  }

  private unfile(tr: Track, r: Reach): void {
    for (const key of r.cells) {
      const set = this.cells.get(key);
      if (!set) continue;
      set.delete(tr);
      if (set.size === 0) this.cells.delete(key);
    }
    r.cells.length = 0;
    this.wide.delete(tr);
  }

  /** The tracks a frame of this camera can touch (a reused array). */
  private candidatesFor(cam: Camera, ms: readonly Measurement[], maxTraceR: number, t: number): Track[] {
    const out = this.scratch;
    out.length = 0;
    const cellM = this.config.indexCellM;
    const f = cam.footprint;
    if (!(cellM > 0) || !Number.isFinite(f.minX) || !Number.isFinite(f.minY) || !Number.isFinite(f.maxX) || !Number.isFinite(f.maxY)) {
      for (const tr of this.tracks.values()) out.push(tr);
      this.expiredScratch.length = 0;
      this.expired(t, this.expiredScratch); // every track is a candidate; this keeps the heap drained
      return out;
    }
    if (this.config.q > this.indexedQ) for (const tr of this.tracks.values()) this.place(tr);
    const stamp = ++this.queryStamp;
    this.queryCells(out, stamp, f.minX, f.minY, f.maxX, f.maxY);
    if (ms.length > 0) {
      const b = boundsOf(ms);
      const rr = Math.sqrt(this.config.gate * maxTraceR);
      const minX = b.minX - rr, minY = b.minY - rr, maxX = b.maxX + rr, maxY = b.maxY + rr;
      // Measurements outside the footprint (a box's foot below the image edge) need their own query.
      if (minX < f.minX || minY < f.minY || maxX > f.maxX || maxY > f.maxY) this.queryCells(out, stamp, minX, minY, maxX, maxY);
    }
    for (const tr of this.wide) this.take(out, stamp, tr);
    // Tracks past their coasting time: checked (and ended unless this frame updates them).
    this.expiredScratch.length = 0;
    for (const tr of this.expired(t, this.expiredScratch)) this.take(out, stamp, tr);
    return out;
  }

  private take(out: Track[], stamp: number, tr: Track): void {
    const r = this.reachOf(tr);
    if (r.query === stamp) return;
    r.query = stamp;
    out.push(tr);
  }

  /** Tracks whose reach overlaps the box, each once per stamp, into out. */
  private queryCells(out: Track[], stamp: number, minX: number, minY: number, maxX: number, maxY: number): void {
    const cellM = this.config.indexCellM;
    const cx0 = Math.floor(minX / cellM), cx1 = Math.floor(maxX / cellM);
    const cy0 = Math.floor(minY / cellM), cy1 = Math.floor(maxY / cellM);
    for (let cx = cx0; cx <= cx1; cx++)
      for (let cy = cy0; cy <= cy1; cy++) {
        const set = this.cells.get(this.cellKey(cx, cy));
        if (!set) continue;
        for (const tr of set) {
          const r = this.reachOf(tr);
          if (r.query !== stamp && r.maxX >= minX && r.minX <= maxX && r.maxY >= minY && r.minY <= maxY) {
            r.query = stamp;
            out.push(tr);
          }
        }
      }
  }

  private pushDeadline(d: number, tr: Track): void {
    const ts = this.deadlineT;
    const trs = this.deadlineTrack;
    let i = ts.length;
    ts.push(d);
    trs.push(tr);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (ts[parent]! <= d) break;
      ts[i] = ts[parent]!;
      trs[i] = trs[parent]!;
      i = parent;
    }
    ts[i] = d;
    trs[i] = tr;
  }

  private popDeadline(): void {
    const ts = this.deadlineT;
    const trs = this.deadlineTrack;
    const lastT = ts.pop()!;
    const lastTr = trs.pop()!;
    const n = ts.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && ts[c + 1]! < ts[c]!) c++;
      if (ts[c]! >= lastT) break;
      ts[i] = ts[c]!;
      trs[i] = trs[c]!;
      i = c;
    }
    ts[i] = lastT;
    trs[i] = lastTr;
  }

  /**
   * Live tracks not updated for more than maxCoastS before t, into out (each returned once per
   * update; the heap is keyed by lastUpdate, so the test is the same expression as before).
   */
  private expired(t: number, out: Track[]): Track[] {
    const coast = this.config.maxCoastS;
    while (this.deadlineT.length > 0 && t - this.deadlineT[0]! > coast) {
      const lu = this.deadlineT[0]!;
      const tr = this.deadlineTrack[0]!;
      this.popDeadline();
      const r = this.reach.get(tr);
      if (r && r.scheduled === lu && this.tracks.has(tr.id)) {
        r.scheduled = NaN; // popped; an update schedules it again
        out.push(tr);
      }
    }
    return out;
  }

  /** Scratch for grid queries (indices of measurements near a track). */
  private candidates = new Int32Array(64);

  private birth(z: Measurement, t: number, cameraId: CameraId): Track {
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
    this.place(tr);
    return tr;
  }

  private end(tr: Track): void {
    this.tracks.delete(tr.id);
    const r = this.reach.get(tr);
    if (r) this.unfile(tr, r);
    this.reach.delete(tr);
    this.events.onEnded?.(tr);
  }

  /** Ends tracks nobody has updated for maxCoastS (no camera covers them any more). */
  sweep(t: number): void {
    for (const tr of this.expired(t, [])) if (t - tr.lastUpdate > this.config.maxCoastS) this.end(tr);
  }
}
