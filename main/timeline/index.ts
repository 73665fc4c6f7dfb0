/**
 * Timeline: ground-plane tracking across cameras, probable futures, restricted zones and
 * intervention points, and learning from how predictions turned out.
 *
 * ## Ingest seam (wired in app/wiring-glue.ts from the swarm's verified detections only)
 * `service.ingest(cameraId, frameTimestamp, observations)` takes one `detections` message of a
 * registered camera: `cameraId` is its registry id (the glue maps the envelope's serial to it
 * through the fleet), `frameTimestamp` is `body.frame.timestamp`
 * (capture time, ms) and `observations` is `body.frame.observations` as it arrived (normalised
 * boxes, class, score). Call it once per frame, in arrival order per camera; frames of different
 * cameras may interleave. A camera without a ground calibration is skipped (the result says so)
 * until one arrives: `calibrate()` with the pairs the camera supplies over VAPIX
 * (calibration.cgi, read by the fleet at registration), `timeline.calibration` with the user's
 * four reference points, or `setHomography` (tests). The tracker runs on frame time; `now` only
 * throttles the `timeline.tracks` event (5 Hz).
 */
import { cameraIdSchema, type CameraId } from '../../preload/contract/camera-id';
import type { TimelineFeedPath, TimelineIntervention, TimelineStats, TimelineTrack, TimelineZone } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { AppError } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { Db } from '../store';
import { DegenerateCalibrationError, apply, estimateHomography, type Mat3, type PointPair } from './homography';
import { defaultModels, defaultSwitchMatrix, FUTURE_STRIDE, predictFutures, weightedMeanPath, type Future } from './imm';
import { emptyOutcomes, scorePrediction, type OutcomeState, type PendingPrediction } from './outcomes';
import type { Random } from './rng';
import { Tracker, type Observation, type Track, type TrackerConfig } from './tracker';
import { entryProbabilities, interventionPoint, normalSamples, pointInPolygon, type Intervention, type Zone } from './zones';
import { timelineStatements, type CalibrationSource } from './statements';

export type { Observation } from './tracker';
export { createTimelineHistory, type TimelineHistory, type HistorySegment } from './history';

export interface TimelineConfig {
  /** Prediction step and horizon: 12 steps of 0.4 s. */
  dt: number;
  horizon: number;
  futures: number;
  publishHz: number;
  /** How often a track's prediction is kept for scoring, s. */
  predictionEveryS: number;
  /** Prior weight (pseudo-counts per row) of the default switch matrix. */
  switchPrior: number;
  /** Image σ of a foot point for calibrated cameras (normalised units). */
  sigmaImage: number;
  tracker: Partial<TrackerConfig>;
}

export const defaultTimelineConfig: TimelineConfig = {
  dt: 0.4,
  horizon: 12,
  futures: 5,
  publishHz: 5,
  predictionEveryS: 1,
  switchPrior: 50,
  sigmaImage: 0.004,
  tracker: {},
};

export interface TimelineDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  now: () => number;
  random: Random;
  config?: Partial<TimelineConfig>;
  /** After a camera's calibration changed (the swarm's coverage of it is built from it). */
  onCalibrated?: (cameraId: CameraId) => void;
}

export type { CalibrationSource };
/**
 * What `calibrate` does with the include area: the camera's own (its calibration.cgi), `null` when
 * it gave none (the whole frame), or `'keep'` (the default: the user's reference points change the
 * mapping, not where the camera's detector works).
 */
export type IncludeArea = { u: number; v: number }[] | null | 'keep';

interface Calibration {
  points: PointPair[];
  h: Mat3;
  rmsErrorM: number;
  source: CalibrationSource;
  includeArea?: { u: number; v: number }[];
}

export interface TimelineService {
  ingest(cameraId: CameraId, frameTimestamp: number, observations: readonly Observation[]): { accepted: boolean; reason?: string; tracks: number };
  /**
   * Many frames at once, in arrival order (what the swarm verified in one commit): each is tracked
   * as `ingest` would, while the per-call upkeep — ending stale tracks, the throttled
   * `timeline.tracks` event — runs once for the batch. Returns how many were tracked.
   */
  ingestBatch(frames: readonly { cameraId: CameraId; frameTimestamp: number; observations: readonly Observation[] }[]): { accepted: number; tracks: number };
  /** The simulator's true calibration (image → ground), kept in memory only. */
  setHomography(cameraId: CameraId, h: Mat3): void;
  /**
   * Estimates and saves a camera's mapping from image↔ground reference pairs: the user's four
   * points (`reference-points`) or what the camera supplies over VAPIX (`simulator` / `camera`).
   * Throws AppError('invalid_input') for degenerate points.
   */
  calibrate(cameraId: CameraId, points: PointPair[], source: CalibrationSource, includeArea?: IncludeArea): void;
  /** A camera's saved image → ground mapping, if any. */
  homographyOf(cameraId: CameraId): Mat3 | undefined;
  /** Where in its image the camera detects, as it said with its calibration; undefined = the whole frame. */
  includeAreaOf(cameraId: CameraId): { u: number; v: number }[] | undefined;
  /** Futures of the current tracks in one camera's normalised image. */
  futuresForCamera(cameraId: CameraId): { cameraId: CameraId; at: number; calibrated: boolean; paths: TimelineFeedPath[] };
  tracks(confirmedOnly?: boolean): { at: number; tracks: TimelineTrack[] };
  interventions(): TimelineIntervention[];
  zones(): TimelineZone[];
  setZones(zones: TimelineZone[]): TimelineZone[];
  stats(): TimelineStats;
  readonly tracker: Tracker;
  /** Futures the refreshes computed and reused (a track's futures are recomputed only after it changed). */
  readonly futureWork: { readonly computed: number; readonly reused: number };
  handlers: Handlers;
  close(): void;
}

const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;
/**
 * A future's points as shown (rounded), read from its packed buffer: going through `Future.points`
 * built every point twice (its objects, then the rounded ones), and at 5 Hz for hundreds of tracks
 * those short-lived objects were most of the timeline's allocation and a long task each refresh
 * (bench:detections, timeline_call_ms_max).
 */
const shownPoints = (f: Future): TimelineTrack['futures'][number]['points'] => {
  const d = f.buf;
  const out: TimelineTrack['futures'][number]['points'] = new Array(f.steps);
  for (let k = 0; k < f.steps; k++) {
    const o = f.offset + k * FUTURE_STRIDE;
    out[k] = { dt: round((k + 1) * f.dt, 2), x: round(d[o]!), y: round(d[o + 1]!), cov: [round(d[o + 2]!, 5), round(d[o + 3]!, 5), round(d[o + 4]!, 5)] };
  }
  return out;
};

export function createTimelineService(deps: TimelineDeps): TimelineService {
  const { db, bus, log, now } = deps;
  const cfg = { ...defaultTimelineConfig, ...deps.config };
  const models = defaultModels;
  const n = models.length;

  // ---- persisted state -------------------------------------------------------------------------
  const sql = timelineStatements(db, (what, err) => log.warn({ err }, `stored ${what} is unreadable; starting without it`));
  const prior = defaultSwitchMatrix(n);
  const storedCounts = sql.learning('switch_counts');
  const counts = storedCounts?.length === n * n ? Float64Array.from(storedCounts) : prior.map((p) => p * cfg.switchPrior);
  const switching = { n, pi: new Float64Array(n * n) };
  const recomputeSwitch = (): void => {
    for (let i = 0; i < n; i++) {
      let row = 0;
      for (let j = 0; j < n; j++) row += counts[i * n + j]!;
      for (let j = 0; j < n; j++) switching.pi[i * n + j] = row > 0 ? counts[i * n + j]! / row : prior[i * n + j]!;
    }
  };
  recomputeSwitch();
  const outcomes: OutcomeState = { ...emptyOutcomes(), ...sql.learning('outcomes') };
  const storedQ = sql.learning('process_noise');

  const pending: PendingPrediction[] = [];
  /** Pending predictions per track, so ending a track does not scan them all (tracks end hundreds of times a second at fleet scale). */
  const pendingOf = new Map<string, number>();
  const endedHistories = new Map<string, Track['history']>();
  const tracker = new Tracker({ ...cfg.tracker, ...(storedQ ? { q: storedQ } : {}) }, models, {
    onEnded: (tr) => {
      // Keep the history of an ended track until its pending predictions are scored.
      if (pendingOf.has(tr.id)) endedHistories.set(tr.id, tr.history);
      harvest(tr);
    },
  }, switching);

  const saveLearning = (): void => {
    sql.saveLearning({ switch_counts: [...counts], outcomes, process_noise: tracker.config.q }, now());
  };

  let zones: Zone[] = sql.zones();

  const calibrations = new Map<CameraId, Calibration>();
  for (const { cameraId, ...c } of sql.calibrations()) {
    calibrations.set(cameraId, c);
    tracker.setCamera(cameraId, c.h, cfg.sigmaImage);
  }

  // ---- learning --------------------------------------------------------------------------------
  /** Adds a track's filtered mode-switch soft counts to the shared statistics. */
  function harvest(tr: Track): void {
    const sc = tr.imm.softCounts;
    for (let k = 0; k < n * n; k++) counts[k] = counts[k]! + sc[k]!;
    sc.fill(0);
    recomputeSwitch();
  }

  /**
   * Process noise by covariance matching: the mean normalised innovation squared of a consistent
   * 2-D filter is 2, so q is nudged (at most ±25 % per step) toward that.
   */
  const adaptProcessNoise = (): void => {
    if (tracker.nisCount < 100) return;
    const ratio = tracker.nisSum / tracker.nisCount / 2;
    const factor = Math.min(1.25, Math.max(0.8, Math.sqrt(ratio)));
    tracker.config.q = Math.min(5, Math.max(0.02, tracker.config.q * factor));
    tracker.nisSum = 0;
    tracker.nisCount = 0;
  };

  let frameClock = -Infinity; // s
  let lastSaved = -Infinity;
  const resolveOutcomes = (): void => {
    let changed = false;
    // Scored newest first (as before); the kept ones are compacted in place afterwards.
    const done = new Set<PendingPrediction>();
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i]!;
      if (p.t0 + p.path.length * p.dt > frameClock) continue;
      const live = tracker.tracks.get(p.trackId);
      const history = live?.history ?? endedHistories.get(p.trackId);
      if (history) scorePrediction(outcomes, p, history, zones);
      else outcomes.unresolved++;
      if (live) harvest(live);
      const left = (pendingOf.get(p.trackId) ?? 1) - 1;
      if (left > 0) pendingOf.set(p.trackId, left);
      else pendingOf.delete(p.trackId);
      done.add(p);
      changed = true;
    }
    if (done.size > 0) {
      let k = 0;
      for (const p of pending) if (!done.has(p)) pending[k++] = p;
      pending.length = k;
    }
    for (const id of endedHistories.keys()) if (!pendingOf.has(id)) endedHistories.delete(id);
    if (changed) {
      adaptProcessNoise();
      if (frameClock - lastSaved > 30) {
        saveLearning();
        lastSaved = frameClock;
      }
    }
  };

  // ---- futures and interventions ---------------------------------------------------------------
  const samples = normalSamples(deps.random, 128);
  const lastPredictionAt = new Map<string, number>();
  const active = new Map<string, Intervention>();
  let snapshot: { at: number; tracks: TimelineTrack[]; all: TimelineTrack[]; interventions: Intervention[] } | undefined;
  let snapshotClock = NaN;

  // The tracker predicts a track only when a frame can touch it, so each track's filter is at its
  // own time: what is shown is its state predicted to the newest frame (as before, when every
  // frame moved every track), without changing the track.
  const toContract = (tr: Track, futures: TimelineTrack['futures'], at = tracker.stateAt(tr, frameClock)): TimelineTrack => ({
    id: tr.id,
    cls: tr.cls,
    confirmed: tr.confirmed,
    x: round(at.x),
    y: round(at.y),
    vx: round(at.vx),
    vy: round(at.vy),
    cov: [round(at.cov[0], 5), round(at.cov[1], 5), round(at.cov[2], 5)],
    cameras: [...tr.cameras],
    lastCamera: tr.lastCamera,
    updatedAt: Math.round(tr.lastUpdate * 1000),
    modes: Object.fromEntries(models.map((m, j) => [m.id, round(tr.imm.mu[j]!, 4)])),
    futures,
  });

  // ---- futures cache ---------------------------------------------------------------------------
  // A track's futures (and zone-entry curves) depend only on its IMM state, the zones and the switch
  // matrix; the IMM changes only when a frame updates the track (its hit count grows). So the 5 Hz
  // refresh recomputes them for tracks updated since the last refresh and reuses the rest — the
  // same figures a viewer would get from a fresh computation. The learned switch matrix moves a
  // little with every harvested track; cached futures are dropped when it has moved by more than
  // SWITCH_TOLERANCE in any entry since they were computed, or when the zones change.
  interface FutureCache {
    hits: number;
    epoch: number;
    futures: Future[];
    curves: Float64Array[];
    shown: TimelineTrack['futures'];
    zoneProbs: Record<string, number>;
  }
  const SWITCH_TOLERANCE = 1e-3;
  const futureCache = new Map<string, FutureCache>();
  let epoch = 0;
  const cachedPi = Float64Array.from(switching.pi);
  /** Counts of futures computed and reused by refreshes (for tests). */
  const futureWork = { computed: 0, reused: 0 };
  const checkEpoch = (): void => {
    let moved = 0;
    for (let k = 0; k < cachedPi.length; k++) moved = Math.max(moved, Math.abs(cachedPi[k]! - switching.pi[k]!));
    if (moved > SWITCH_TOLERANCE) {
      cachedPi.set(switching.pi);
      epoch++;
    }
  };
  const futuresOf = (tr: Track): FutureCache => {
    const c = futureCache.get(tr.id);
    if (c && c.hits === tr.hits && c.epoch === epoch) {
      futureWork.reused++;
      return c;
    }
    futureWork.computed++;
    const { futures } = predictFutures(tr.imm, { dt: cfg.dt, horizon: cfg.horizon, count: cfg.futures });
    const curves: Float64Array[] = [];
    const zoneProbs: Record<string, number> = {};
    for (const z of zones) {
      const curve = entryProbabilities(futures, z, samples);
      curves.push(curve);
      zoneProbs[z.id] = curve[curve.length - 1] ?? 0;
    }
    const shown = futures.map((f) => ({
      label: f.label,
      weight: round(f.weight, 4),
      points: shownPoints(f),
    }));
    const fresh = { hits: tr.hits, epoch, futures, curves, shown, zoneProbs };
    futureCache.set(tr.id, fresh);
    return fresh;
  };

  const refresh = (): NonNullable<typeof snapshot> => {
    if (snapshot && snapshotClock === frameClock) return snapshot;
    const all: TimelineTrack[] = [];
    const found: Intervention[] = [];
    checkEpoch();
    for (const tr of tracker.tracks.values()) {
      const at = tracker.stateAt(tr, frameClock);
      if (!tr.confirmed) {
        all.push(toContract(tr, [], at));
        continue;
      }
      const fc = futuresOf(tr);
      zones.forEach((z, i) => {
        if (pointInPolygon(at.x, at.y, z.polygon)) return; // already inside: an incursion, not a prediction
        const iv = interventionPoint(fc.curves[i]!, cfg.dt, z, tr.id, Math.round(tr.imm.t * 1000), Math.max(0, frameClock - tr.imm.t));
        if (iv) found.push(iv);
      });
      if (frameClock - (lastPredictionAt.get(tr.id) ?? -Infinity) >= cfg.predictionEveryS) {
        lastPredictionAt.set(tr.id, frameClock);
        pendingOf.set(tr.id, (pendingOf.get(tr.id) ?? 0) + 1);
        pending.push({ trackId: tr.id, cameraId: tr.lastCamera, t0: tr.imm.t, dt: cfg.dt, path: weightedMeanPath(fc.futures), zoneProbs: fc.zoneProbs });
      }
      all.push(toContract(tr, fc.shown, at));
    }
    for (const id of futureCache.keys()) if (!tracker.tracks.has(id)) futureCache.delete(id);
    for (const id of lastPredictionAt.keys()) if (!tracker.tracks.has(id)) lastPredictionAt.delete(id);
    resolveOutcomes();
    found.sort((a, b) => a.at - b.at);
    const keys = new Set<string>();
    for (const iv of found) {
      const key = `${iv.trackId}|${iv.zoneId}`;
      keys.add(key);
      if (!active.has(key)) {
        bus.publish('timeline.intervention', iv);
        const zone = zones.find((z) => z.id === iv.zoneId);
        bus.publish('app.notification', {
          title: `Intervention point: ${zone?.name ?? iv.zoneId}`,
          body: `Track ${iv.trackId} may enter in ${iv.leadTimeS.toFixed(1)} s (p = ${iv.probability.toFixed(2)}). ${iv.suggestedAction}`,
          severity: 'warning',
        });
      }
      active.set(key, iv);
    }
    for (const key of [...active.keys()]) if (!keys.has(key)) active.delete(key);
    snapshot = { at: Number.isFinite(frameClock) ? Math.round(frameClock * 1000) : 0, tracks: all.filter((t) => t.confirmed), all, interventions: found };
    snapshotClock = frameClock;
    return snapshot;
  };

  let lastPublish = -Infinity;
  const warnedUncalibrated = new Set<CameraId>();

  /** Tracks one frame without the per-call upkeep; false when the camera has no calibration. */
  const track = (cameraId: CameraId, frameTimestamp: number, observations: readonly Observation[]): boolean => {
    if (!tracker.cameras.has(cameraId)) {
      if (!warnedUncalibrated.has(cameraId)) {
        warnedUncalibrated.add(cameraId);
        log.warn({ cameraId }, 'detections from a camera without ground calibration are not tracked; set four reference points in the Timeline view');
      }
      return false;
    }
    const t = frameTimestamp / 1000;
    tracker.ingest(cameraId, t, observations);
    if (t > frameClock) frameClock = t;
    return true;
  };
  const upkeep = (): void => {
    tracker.sweep(frameClock);
    const wall = now();
    if (wall - lastPublish >= 1000 / cfg.publishHz) {
      lastPublish = wall;
      const s = refresh();
      bus.publish('timeline.tracks', { at: s.at, tracks: s.tracks });
    }
  };
  const ingest: TimelineService['ingest'] = (cameraId, frameTimestamp, observations) => {
    if (!track(cameraId, frameTimestamp, observations)) return { accepted: false, reason: 'Camera has no ground calibration; set four reference points for it.', tracks: tracker.tracks.size };
    upkeep();
    return { accepted: true, tracks: tracker.tracks.size };
  };
  // Sweeping once per batch instead of once per frame: a sweep walks every track, so per frame it
  // cost O(tracks) for each of 10,000 reports a second. A batch spans a few ms of frames, far below
  // the seconds a track may coast, so no track outlives its time by more than a batch.
  const ingestBatch: TimelineService['ingestBatch'] = (frames) => {
    let accepted = 0;
    for (const f of frames) if (track(f.cameraId, f.frameTimestamp, f.observations)) accepted++;
    if (accepted) upkeep();
    return { accepted, tracks: tracker.tracks.size };
  };

  const setZones = (list: TimelineZone[]): TimelineZone[] => {
    const ids = new Set<string>();
    for (const z of list) {
      if (ids.has(z.id)) throw new AppError('invalid_input', `Two zones are called "${z.id}". Give every zone its own id.`);
      ids.add(z.id);
      let area = 0;
      z.polygon.forEach((p, i) => {
        const q = z.polygon[(i + 1) % z.polygon.length]!;
        area += p.x * q.y - q.x * p.y;
      });
      if (Math.abs(area) / 2 < 0.01)
        throw new AppError('invalid_input', `Zone "${z.name}" has no area (its corners lie on one line). Draw at least three corners that enclose ground.`);
    }
    sql.replaceZones(list, now());
    zones = sql.zones();
    snapshot = undefined;
    epoch++; // cached zone-entry curves are per zone
    return zones as TimelineZone[];
  };

  const calibrate = (cameraId: CameraId, points: PointPair[], source: CalibrationSource, area: IncludeArea = 'keep'): void => {
    let est: { h: Mat3; rmsErrorM: number };
    try {
      est = estimateHomography(points);
    } catch (err) {
      if (err instanceof DegenerateCalibrationError) throw new AppError('invalid_input', err.message);
      throw err;
    }
    const includeArea = area === 'keep' ? calibrations.get(cameraId)?.includeArea : (area ?? undefined);
    const c: Calibration = { points, h: est.h, rmsErrorM: est.rmsErrorM, source, ...(includeArea ? { includeArea } : {}) };
    sql.saveCalibration({ cameraId, ...c }, now());
    calibrations.set(cameraId, c);
    tracker.setCamera(cameraId, est.h, cfg.sigmaImage);
    warnedUncalibrated.delete(cameraId);
    deps.onCalibrated?.(cameraId);
  };

  const calibration = (cameraId: CameraId, points?: PointPair[]) => {
    if (points) calibrate(cameraId, points, 'reference-points');
    const c = calibrations.get(cameraId);
    return {
      cameraId,
      homography: c ? [...c.h] : null,
      rmsErrorM: c ? c.rmsErrorM : null,
      source: c?.source ?? ('none' as const),
      points: c?.points ?? [],
    };
  };

  // A homography maps straight lines to straight lines: the include area's vertices mapped to the
  // ground are the ground polygon (it lies in front of the camera, short of the horizon).
  const detectionArea = (c: Calibration): { x: number; y: number }[] | null => {
    if (!c.includeArea) return null;
    const out: { x: number; y: number }[] = [];
    for (const q of c.includeArea) {
      const g = apply(c.h, q.u, q.v);
      if (!g || !Number.isFinite(g.x) || !Number.isFinite(g.y)) return null;
      out.push({ x: round(g.x, 2) + 0, y: round(g.y, 2) + 0 });
    }
    return out;
  };
  const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? round(v, 2) + 0 : null); // + 0 turns −0 into 0
  const cameras = () =>
    [...calibrations.entries()]
      .map(([cameraId, c]) => {
        const f = tracker.cameras.get(cameraId)?.footprint;
        return {
          cameraId,
          source: c.source,
          rmsErrorM: round(c.rmsErrorM, 4),
          footprint: { minX: finiteOrNull(f?.minX ?? NaN), minY: finiteOrNull(f?.minY ?? NaN), maxX: finiteOrNull(f?.maxX ?? NaN), maxY: finiteOrNull(f?.maxY ?? NaN) },
          detectionArea: detectionArea(c),
        };
      })
      .sort((a, b) => a.cameraId.localeCompare(b.cameraId));

  /**
   * Ground → image through the inverse homography. A path is cut where it passes behind the
   * camera (the mapping's scale changes sign), so nothing is drawn mirrored.
   */
  const futuresForCamera = (cameraId: CameraId) => {
    const cam = tracker.cameras.get(cameraId);
    const s = refresh();
    if (!cam) return { cameraId, at: s.at, calibrated: false, paths: [] };
    const hi = cam.hInv;
    // The tracker scales hInv so that ground the camera sees maps with w > 0; apply() refuses the rest.
    const toImage = (x: number, y: number): [number, number] | undefined => {
      const p = apply(hi, x, y);
      return p ? [round(p.x, 4), round(p.y, 4)] : undefined;
    };
    const paths: TimelineFeedPath[] = [];
    for (const t of s.tracks) {
      const start = toImage(t.x, t.y);
      if (!start || start[0] < -0.5 || start[0] > 1.5 || start[1] < -0.5 || start[1] > 1.5) continue; // far outside this view
      for (const f of t.futures) {
        const points: [number, number][] = [start];
        for (const p of f.points) {
          const q = toImage(p.x, p.y);
          if (!q) break;
          points.push(q);
        }
        paths.push({ trackId: t.id, label: f.label, weight: f.weight, points });
      }
    }
    return { cameraId, at: s.at, calibrated: true, paths };
  };

  const stats = (): TimelineStats => {
    const avg = (s: { ade: number; fde: number; n: number }) => ({ ade: s.n ? round(s.ade / s.n, 4) : null, fde: s.n ? round(s.fde / s.n, 4) : null, n: s.n });
    return {
      overall: { ...avg(outcomes.overall), brier: outcomes.brierN ? round(outcomes.brierSum / outcomes.brierN, 4) : null, brierN: outcomes.brierN },
      // Stored as JSON, so keyed by plain strings: each key is read back through the CameraId schema.
      perCamera: Object.entries(outcomes.perCamera)
        .flatMap(([key, s]) => {
          const id = cameraIdSchema.safeParse(key);
          return id.success ? [{ cameraId: id.data, ...avg(s) }] : [];
        })
        .sort((a, b) => a.cameraId.localeCompare(b.cameraId)),
      modes: models.map((m) => m.name),
      switchMatrix: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => round(switching.pi[i * n + j]!, 4))),
      processNoise: round(tracker.config.q, 4),
      unresolved: outcomes.unresolved,
    };
  };

  return {
    ingest,
    ingestBatch,
    calibrate,
    homographyOf: (cameraId) => {
      const c = calibrations.get(cameraId);
      return c ? ([...c.h] as Mat3) : undefined;
    },
    includeAreaOf: (cameraId) => calibrations.get(cameraId)?.includeArea?.map((p) => ({ ...p })),
    futuresForCamera,
    setHomography(cameraId, h) {
      calibrations.set(cameraId, { points: [], h, rmsErrorM: 0, source: 'simulator' });
      tracker.setCamera(cameraId, h, cfg.sigmaImage);
    },
    tracks: (confirmedOnly = true) => {
      const s = refresh();
      return { at: s.at, tracks: confirmedOnly ? s.tracks : s.all };
    },
    interventions: () => refresh().interventions,
    zones: () => zones as TimelineZone[],
    setZones,
    stats,
    tracker,
    futureWork,
    handlers: {
      'timeline.tracks': ({ confirmedOnly }) => {
        const s = refresh();
        return { at: Number.isFinite(s.at) ? s.at : 0, tracks: confirmedOnly ? s.tracks : s.all };
      },
      'timeline.zones': ({ set }) => (set ? setZones(set) : (zones as TimelineZone[])),
      'timeline.interventions': () => refresh().interventions,
      'timeline.calibration': ({ cameraId, points }) => calibration(cameraId, points),
      'timeline.stats': () => stats(),
      'timeline.cameras': () => cameras(),
      'timeline.futuresForCamera': ({ cameraId }) => futuresForCamera(cameraId),
      'timeline.futuresForCameras': ({ cameraIds }) => {
        // refresh() is cached per moment, so every camera here projects the same tracks.
        const cameras = [...new Set(cameraIds)].map((id) => {
          const { cameraId, calibrated, paths } = futuresForCamera(id);
          return { cameraId, calibrated, paths };
        });
        const at = refresh().at;
        return { at: Number.isFinite(at) ? at : 0, cameras };
      },
    },
    close() {
      saveLearning();
    },
  };
}
