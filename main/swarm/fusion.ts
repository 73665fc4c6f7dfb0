// Byzantine-robust fusion of verified camera reports at one trusted coordinator: an event in a zone
// is confirmed only when at least f+1 distinct cameras covering that zone report it within the
// fusion window, so f liars cannot confirm anything on their own.
import type { Box, ObjectClass } from './envelope';
import { createReputation, type BetaScore, type Reputation } from './reputation';

export interface Point {
  x: number;
  y: number;
}
/** A zone on the ground plane, as a simple polygon. */
export interface Zone {
  id: string;
  polygon: readonly Point[];
}
/**
 * What a camera sees: the zones in its view and a map from an image box (normalised 0..1) to a
 * ground point. The timeline's homographies plug in here later; tests use known affine maps.
 */
export interface CameraCoverage {
  zones: readonly string[];
  toGround(box: Box): Point;
}

export interface Observation {
  box: Box;
  cls: ObjectClass;
  trackId: string;
  /** Capture time of the observation, ms. */
  ts: number;
}
export interface Report {
  camera: string;
  /** The envelope's boot epoch; with seq and an observation's index it names one detection (outcomes). */
  epoch?: number;
  seq: number;
  /** Capture time of the frame, ms. */
  frameTs: number;
  receivedAt: number;
  observations: readonly Observation[];
  /** The signed payload, kept as proof should this report turn out to equivocate. */
  raw: string;
}

export interface ConfirmedEvent {
  id: string;
  zone: string;
  cls: ObjectClass;
  startTs: number;
  endTs: number;
  confirmedAt: number;
  /** Where it is on the ground: the coordinate-wise median of the confirmers' latest points. */
  x: number;
  y: number;
  /** Cameras that reported it, most reputable first. */
  confirmers: string[];
  /** Covering cameras that were reporting frames at the time and did not report it (known at close). */
  disagreed: string[];
  f: number;
  n: number;
  closed: boolean;
}

export interface EquivocationProof {
  camera: string;
  trackId: string;
  ts: number;
  reason: string;
  /** Both signed payloads, verbatim. */
  first: string;
  second: string;
  detectedAt: number;
}

export type FusionOutput =
  | { type: 'confirmed'; event: ConfirmedEvent }
  | { type: 'closed'; event: ConfirmedEvent }
  | { type: 'unconfirmed'; zone: string; cls: ObjectClass; startTs: number; endTs: number; reporters: string[]; silent: string[]; f: number; n: number; overruled: boolean }
  | { type: 'equivocation'; proof: EquivocationProof };

/**
 * What became of one detection (the camera's label for federated learning, docs/protocol.md fl2):
 * confirmed = it was one of the reports of an event the swarm confirmed.
 */
export interface DetectionOutcome {
  camera: string;
  epoch: number;
  seq: number;
  /** Position of the observation in the report's observations array. */
  index: number;
  confirmed: boolean;
}

export interface FusionOptions {
  zones: readonly Zone[];
  /** Reports of one event must fall within this window of each other, ms. */
  windowMs?: number;
  /**
   * Reports of one event must also lie within this distance of its current position (ground units,
   * metres on a site): a liar's "Human" a few metres from a real one is another candidate, which it
   * cannot confirm alone, rather than one more voice for the real one.
   */
  positionGate?: number;
  /** How long after its last report a candidate waits for late reports before it closes, ms. */
  graceMs?: number;
  /** Upper bound for f (configure lower than ⌊(n−1)/3⌋ for a small fleet that accepts less). */
  maxF?: number;
  /** Same track and time, centres further apart than this (normalised image units) = conflicting. */
  equivocationDistance?: number;
  /** How long a camera's observations are remembered for equivocation checks, ms. */
  equivocationHorizonMs?: number;
  reputationHalfLifeMs?: number;
  /**
   * Called with the outcome of detections as soon as it is known: at once for a detection joining a
   * confirmed event or falling outside every zone, when its candidate closes otherwise. Reports
   * without an epoch (unsigned simulations) have none.
   */
  onOutcomes?: (items: DetectionOutcome[]) => void;
  now: () => number;
}

export interface ZoneStatus {
  zone: string;
  covering: string[];
  n: number;
  f: number;
  /** Covering cameras neither quarantined nor down. */
  healthy: number;
  /** Fewer than 2f+1 healthy covering cameras: an event may go unconfirmed. */
  lacksLiveness: boolean;
  /** f ≥ 1: a lying camera cannot confirm an event alone. */
  byzantineTolerant: boolean;
}

export interface Fusion {
  /** Replaces the site's zones; open candidates in a zone that no longer exists are dropped. */
  setZones(zones: readonly Zone[]): void;
  setCamera(id: string, coverage: CameraCoverage): void;
  removeCamera(id: string): void;
  /** Marks a camera down (missed heartbeats) or up again; only affects liveness reporting. */
  setDown(id: string, down: boolean): void;
  ingest(report: Report): FusionOutput[];
  /** Closes candidates whose grace has passed. Call periodically. */
  tick(): FusionOutput[];
  quarantine(proof: EquivocationProof): FusionOutput[];
  release(camera: string): boolean;
  isQuarantined(camera: string): boolean;
  quarantined(): EquivocationProof[];
  zones(): ZoneStatus[];
  zoneOf(camera: string): readonly string[];
  reputation(camera: string): BetaScore;
  fOf(zone: string): number;
  openCandidates(): number;
}

interface Candidate {
  zone: string;
  cls: ObjectClass;
  startTs: number;
  lastTs: number;
  /** camera → its latest report time for this candidate */
  cams: Map<string, number>;
  /** camera → its latest ground point for this candidate */
  pts: Map<string, Point>;
  /** Median of pts. */
  x: number;
  y: number;
  event?: ConfirmedEvent;
  /** Detections waiting for this candidate's outcome (until it is confirmed or closes). */
  members: { camera: string; epoch: number; seq: number; index: number }[];
}
/** Bound on the detections one unconfirmed candidate remembers for outcomes; later ones get none. */
const MAX_MEMBERS = 4096;

interface Seen {
  cls: ObjectClass;
  cx: number;
  cy: number;
  raw: string;
}

/** Ray-casting point-in-polygon (even–odd rule). */
export function pointInPolygon(p: Point, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i]!;
    const b = poly[j]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

const median = (xs: number[]): number => {
  const s = xs.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** Coordinate-wise median of the points: up to half of them may lie without dragging it far. */
const centre = (pts: Map<string, Point>): Point => {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const p of pts.values()) {
    xs.push(p.x);
    ys.push(p.y);
  }
  return { x: median(xs), y: median(ys) };
};

/** f = ⌊(n−1)/3⌋, capped by configuration. */
export const faultBound = (n: number, maxF = Infinity): number => Math.max(0, Math.min(maxF, Math.floor((n - 1) / 3)));

export function createFusion(opts: FusionOptions): Fusion {
  const W = opts.windowMs ?? 2_000;
  const gate = opts.positionGate ?? 2.5;
  const grace = opts.graceMs ?? 2_000;
  const eqDist = opts.equivocationDistance ?? 0.1;
  const eqHorizon = opts.equivocationHorizonMs ?? 10_000;
  const { now } = opts;
  const rep: Reputation = createReputation(opts.reputationHalfLifeMs);
  const polygons = new Map(opts.zones.map((z) => [z.id, z.polygon]));
  const cameras = new Map<string, CameraCoverage>();
  const zoneCams = new Map<string, Set<string>>();
  const down = new Set<string>();
  const quarantine = new Map<string, EquivocationProof>();
  /** Open candidates indexed by zone|class: the per-report lookup never scans other zones. */
  const open = new Map<string, Candidate[]>();
  let openCount = 0;
  /** Per camera: recent observations by track|ts, plus their insertion order for pruning. */
  const seen = new Map<string, { map: Map<string, Seen>; order: { key: string; ts: number }[]; head: number }>();
  /** Per camera: the latest frame time it reported (for "was looking and said nothing"). */
  const lastFrame = new Map<string, number>();
  let nextId = 1;

  const nOf = (zone: string): number => zoneCams.get(zone)?.size ?? 0;
  const fOf = (zone: string): number => faultBound(nOf(zone), opts.maxF);
  const byReputation = (ids: Iterable<string>, at: number): string[] =>
    [...ids].map((id) => [id, rep.get(id, at).score] as const).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map((x) => x[0]);

  /** When the user last released each camera: what it saw before then has been looked at. */
  const releasedAt = new Map<string, number>();
  const checkEquivocation = (r: Report, o: Observation): EquivocationProof | undefined => {
    // Reports still in flight when the user released the camera (the same conflict, or more of
    // it, captured before the release) must not quarantine it again at once.
    const released = releasedAt.get(r.camera);
    if (released !== undefined && o.ts <= released) return undefined;
    let s = seen.get(r.camera);
    if (!s) seen.set(r.camera, (s = { map: new Map(), order: [], head: 0 }));
    // Prune what fell out of the horizon (amortised O(1) per report).
    const cutoff = r.frameTs - eqHorizon;
    while (s.head < s.order.length && s.order[s.head]!.ts < cutoff) s.map.delete(s.order[s.head++]!.key);
    if (s.head > 1024 && s.head * 2 > s.order.length) {
      s.order = s.order.slice(s.head);
      s.head = 0;
    }
    const key = `${o.trackId}|${o.ts}`;
    const cx = (o.box.left + o.box.right) / 2;
    const cy = (o.box.top + o.box.bottom) / 2;
    const prev = s.map.get(key);
    if (!prev) {
      s.map.set(key, { cls: o.cls, cx, cy, raw: r.raw });
      s.order.push({ key, ts: o.ts });
      return undefined;
    }
    if (prev.raw === r.raw) return undefined; // the very same message (e.g. delivered twice)
    const dist = Math.hypot(prev.cx - cx, prev.cy - cy);
    const reason =
      prev.cls !== o.cls
        ? `track ${o.trackId} at ${o.ts} reported as ${prev.cls} and as ${o.cls}`
        : dist > eqDist
          ? `track ${o.trackId} at ${o.ts} reported at two places ${dist.toFixed(3)} apart (limit ${eqDist})`
          : undefined;
    if (!reason) return undefined;
    return { camera: r.camera, trackId: o.trackId, ts: o.ts, reason, first: prev.raw, second: r.raw, detectedAt: now() };
  };

  const doQuarantine = (proof: EquivocationProof): FusionOutput[] => {
    if (quarantine.has(proof.camera)) return [];
    quarantine.set(proof.camera, proof);
    // Its reports stop counting, including those already in open candidates.
    for (const list of open.values())
      for (const c of list) {
        c.cams.delete(proof.camera);
        c.pts.delete(proof.camera);
      }
    return [{ type: 'equivocation', proof }];
  };

  const emitOutcomes = (items: DetectionOutcome[]): void => {
    if (items.length && opts.onOutcomes) opts.onOutcomes(items);
  };

  const ingest = (r: Report): FusionOutput[] => {
    const outcomes: DetectionOutcome[] = [];
    try {
      return ingestReport(r, outcomes);
    } finally {
      emitOutcomes(outcomes);
    }
  };

  const ingestReport = (r: Report, outcomes: DetectionOutcome[]): FusionOutput[] => {
    const cov = cameras.get(r.camera);
    if (!cov || quarantine.has(r.camera)) return [];
    const out: FusionOutput[] = [];
    const epoch = r.epoch;
    const lf = lastFrame.get(r.camera);
    if (lf === undefined || r.frameTs > lf) lastFrame.set(r.camera, r.frameTs);
    for (const o of r.observations) {
      const proof = checkEquivocation(r, o);
      if (proof) return [...out, ...doQuarantine(proof)];
    }
    for (const [index, o] of r.observations.entries()) {
      const g = cov.toGround(o.box);
      let zone: string | undefined;
      for (const z of cov.zones) {
        const poly = polygons.get(z);
        if (poly && pointInPolygon(g, poly)) {
          zone = z;
          break;
        }
      }
      if (zone === undefined) {
        // Outside every zone this camera covers: it cannot contribute to any event.
        if (epoch !== undefined) outcomes.push({ camera: r.camera, epoch, seq: r.seq, index, confirmed: false });
        continue;
      }
      const key = `${zone}|${o.cls}`;
      let list = open.get(key);
      if (!list) open.set(key, (list = []));
      // The nearest open candidate within the time window and the position gate.
      let cand: Candidate | undefined;
      let best = Infinity;
      for (const c of list) {
        if (o.ts > c.lastTs + W || o.ts < c.startTs - W) continue;
        const d = Math.hypot(g.x - c.x, g.y - c.y);
        if (d <= gate && d < best) {
          best = d;
          cand = c;
        }
      }
      if (!cand) {
        cand = { zone, cls: o.cls, startTs: o.ts, lastTs: o.ts, cams: new Map(), pts: new Map(), x: g.x, y: g.y, members: [] };
        list.push(cand);
        openCount++;
      }
      cand.startTs = Math.min(cand.startTs, o.ts);
      cand.lastTs = Math.max(cand.lastTs, o.ts);
      const prevTs = cand.cams.get(r.camera);
      cand.cams.set(r.camera, prevTs === undefined ? o.ts : Math.max(prevTs, o.ts));
      if (prevTs === undefined || o.ts >= prevTs) cand.pts.set(r.camera, g);
      const mid = centre(cand.pts);
      cand.x = mid.x;
      cand.y = mid.y;
      const n = nOf(zone);
      const f = faultBound(n, opts.maxF);
      if (cand.event) {
        if (epoch !== undefined) outcomes.push({ camera: r.camera, epoch, seq: r.seq, index, confirmed: true });
        if (!cand.event.confirmers.includes(r.camera)) cand.event.confirmers.push(r.camera);
        cand.event.endTs = cand.lastTs;
        cand.event.x = cand.x;
        cand.event.y = cand.y;
        continue;
      }
      if (epoch !== undefined && cand.members.length < MAX_MEMBERS) cand.members.push({ camera: r.camera, epoch, seq: r.seq, index });
      // Distinct cameras with a report within the window of this one.
      let agreeing = 0;
      for (const ts of cand.cams.values()) if (Math.abs(ts - o.ts) <= W) agreeing++;
      if (agreeing >= f + 1) {
        const at = now();
        cand.event = {
          id: `ev${nextId++}`,
          zone,
          cls: o.cls,
          startTs: cand.startTs,
          endTs: cand.lastTs,
          confirmedAt: at,
          x: cand.x,
          y: cand.y,
          confirmers: byReputation(cand.cams.keys(), at),
          disagreed: [],
          f,
          n,
          closed: false,
        };
        out.push({ type: 'confirmed', event: cand.event });
        for (const m of cand.members) if (!quarantine.has(m.camera)) outcomes.push({ ...m, confirmed: true });
        cand.members = [];
      }
    }
    return out;
  };

  const tick = (): FusionOutput[] => {
    const t = now();
    const out: FusionOutput[] = [];
    const outcomes: DetectionOutcome[] = [];
    for (const [key, list] of open) {
      for (let i = list.length - 1; i >= 0; i--) {
        const c = list[i]!;
        if (t < c.lastTs + W + grace) continue;
        list.splice(i, 1);
        openCount--;
        const n = nOf(c.zone);
        const f = faultBound(n, opts.maxF);
        const silent: string[] = [];
        for (const cam of zoneCams.get(c.zone) ?? []) {
          if (c.cams.has(cam) || quarantine.has(cam)) continue;
          const lf = lastFrame.get(cam);
          if (lf !== undefined && lf >= c.lastTs) silent.push(cam);
        }
        if (c.event) {
          c.event.closed = true;
          c.event.disagreed = silent.sort();
          c.event.confirmers = byReputation(c.event.confirmers.filter((x) => !quarantine.has(x)), t);
          for (const cam of c.event.confirmers) rep.agree(cam, t);
          for (const cam of silent) rep.disagree(cam, t);
          out.push({ type: 'closed', event: c.event });
        } else {
          for (const m of c.members) if (!quarantine.has(m.camera)) outcomes.push({ ...m, confirmed: false });
          // Not confirmed. Its reporters were overruled only if a quorum (f+1) was looking and silent.
          const overruled = silent.length >= f + 1;
          if (overruled) for (const cam of c.cams.keys()) rep.disagree(cam, t);
          out.push({ type: 'unconfirmed', zone: c.zone, cls: c.cls, startTs: c.startTs, endTs: c.lastTs, reporters: [...c.cams.keys()].sort(), silent: silent.sort(), f, n, overruled });
        }
      }
      if (!list.length) open.delete(key);
    }
    emitOutcomes(outcomes);
    return out;
  };

  return {
    setZones(zones) {
      polygons.clear();
      for (const z of zones) polygons.set(z.id, z.polygon);
      for (const [key, list] of [...open]) {
        if (polygons.has(list[0]?.zone ?? '')) continue;
        openCount -= list.length;
        open.delete(key);
      }
    },
    setCamera(id, coverage) {
      const prev = cameras.get(id);
      if (prev) for (const z of prev.zones) zoneCams.get(z)?.delete(id);
      cameras.set(id, coverage);
      for (const z of coverage.zones) {
        let s = zoneCams.get(z);
        if (!s) zoneCams.set(z, (s = new Set()));
        s.add(id);
      }
    },
    removeCamera(id) {
      const prev = cameras.get(id);
      if (prev) for (const z of prev.zones) zoneCams.get(z)?.delete(id);
      cameras.delete(id);
      seen.delete(id);
      lastFrame.delete(id);
    },
    setDown(id, isDown) {
      if (isDown) down.add(id);
      else down.delete(id);
    },
    ingest,
    tick,
    quarantine: doQuarantine,
    release(camera) {
      seen.delete(camera); // the old conflicting observations must not re-trigger at once
      releasedAt.set(camera, now());
      return quarantine.delete(camera);
    },
    isQuarantined: (c) => quarantine.has(c),
    quarantined: () => [...quarantine.values()],
    zones: () =>
      [...polygons.keys()].map((zone) => {
        const covering = [...(zoneCams.get(zone) ?? [])].sort();
        const n = covering.length;
        const f = faultBound(n, opts.maxF);
        const healthy = covering.filter((c) => !quarantine.has(c) && !down.has(c)).length;
        return { zone, covering, n, f, healthy, lacksLiveness: healthy < 2 * f + 1 || healthy === 0, byzantineTolerant: f >= 1 };
      }),
    zoneOf: (c) => cameras.get(c)?.zones ?? [],
    reputation: (c) => rep.get(c, now()),
    fOf,
    openCandidates: () => openCount,
  };
}
