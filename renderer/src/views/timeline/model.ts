// Pure helpers of the Timeline view: the kept history of track snapshots, what each camera lane
// shows, map bounds that only grow (so live data never jumps the layout), and zone validation.
import type { TimelineTrack, TimelineZone } from '../../../../preload/contract';

export interface Snapshot {
  at: number;
  tracks: TimelineTrack[];
}

/** Snapshots of the last `keepMs`, oldest first. Returns a new array (state stays immutable). */
export function pushSnapshot(list: readonly Snapshot[], s: Snapshot, keepMs: number): Snapshot[] {
  if (list.length && s.at <= list[list.length - 1]!.at) return list as Snapshot[];
  const from = s.at - keepMs;
  let i = 0;
  while (i < list.length && list[i]!.at < from) i++;
  return [...list.slice(i), s];
}

/** The snapshot in force at time t (the last one at or before t), by binary search. */
export function snapshotAt(list: readonly Snapshot[], t: number): Snapshot | undefined {
  let lo = 0;
  let hi = list.length - 1;
  let best: Snapshot | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.at <= t) {
      best = list[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** Per camera lane: intervals during which a track was last seen by that camera (merged per track). */
export function laneSegments(list: readonly Snapshot[], maxGapMs = 1500): Map<string, { trackId: string; from: number; to: number }[]> {
  const lanes = new Map<string, { trackId: string; from: number; to: number }[]>();
  const open = new Map<string, { trackId: string; from: number; to: number }>();
  for (const s of list) {
    for (const t of s.tracks) {
      const key = `${t.lastCamera}|${t.id}`;
      const seg = open.get(key);
      if (seg && s.at - seg.to <= maxGapMs) seg.to = s.at;
      else {
        const fresh = { trackId: t.id, from: s.at, to: s.at };
        open.set(key, fresh);
        const lane = lanes.get(t.lastCamera) ?? [];
        lane.push(fresh);
        lanes.set(t.lastCamera, lane);
      }
    }
  }
  return lanes;
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** Grows `b` to hold the points with a margin; never shrinks, so the map does not jump. */
export function growBounds(b: Bounds | undefined, pts: readonly { x: number; y: number }[], margin = 3): Bounds | undefined {
  let out = b ? { ...b } : undefined;
  for (const p of pts) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    if (!out) out = { minX: p.x - margin, minY: p.y - margin, maxX: p.x + margin, maxY: p.y + margin };
    else {
      out.minX = Math.min(out.minX, p.x - margin);
      out.minY = Math.min(out.minY, p.y - margin);
      out.maxX = Math.max(out.maxX, p.x + margin);
      out.maxY = Math.max(out.maxY, p.y + margin);
    }
  }
  if (!out || (b && out.minX === b.minX && out.minY === b.minY && out.maxX === b.maxX && out.maxY === b.maxY)) return b ?? out;
  return out;
}

export interface ZoneDraft {
  id?: string;
  name: string;
  polygon: { x: number; y: number }[];
  threshold: string;
  reactionS: string;
  action: string;
}

/** Field errors for a zone draft, in words that say how to fix it; empty when it can be saved. */
export function validateZone(d: ZoneDraft, others: readonly TimelineZone[]): Partial<Record<'name' | 'polygon' | 'threshold' | 'reactionS', string>> {
  const e: Partial<Record<'name' | 'polygon' | 'threshold' | 'reactionS', string>> = {};
  const name = d.name.trim();
  if (!name) e.name = 'Give the zone a name.';
  else if (name.length > 100) e.name = 'Keep the name to 100 characters.';
  else if (others.some((z) => z.name === name && z.id !== d.id)) e.name = `Another zone is already called "${name}".`;
  if (d.polygon.length < 3) e.polygon = `Click at least three corners on the map (${d.polygon.length} so far).`;
  else if (Math.abs(polygonArea(d.polygon)) < 0.01) e.polygon = 'The corners lie on one line; click corners that enclose ground.';
  const th = Number(d.threshold);
  if (!(th >= 0.01 && th <= 0.99)) e.threshold = 'Threshold is a probability between 0.01 and 0.99.';
  const rs = Number(d.reactionS);
  if (d.reactionS.trim() === '' || !(rs >= 0 && rs <= 60)) e.reactionS = 'Reaction time is 0 to 60 seconds.';
  return e;
}

export function polygonArea(p: readonly { x: number; y: number }[]): number {
  let a = 0;
  p.forEach((q, i) => {
    const r = p[(i + 1) % p.length]!;
    a += q.x * r.y - r.x * q.y;
  });
  return a / 2;
}

/** A zone id from its name: lower-case words joined by dashes, made unique against the others. */
export function zoneId(name: string, taken: ReadonlySet<string>): string {
  const base = name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'zone';
  let id = base;
  for (let k = 2; taken.has(id); k++) id = `${base}-${k}`;
  return id;
}

/** Where on the ground a track's most probable future is `leadS` seconds ahead (for intervention markers). */
export function pointAhead(t: TimelineTrack, leadS: number): { x: number; y: number } {
  const best = [...t.futures].sort((a, b) => b.weight - a.weight)[0];
  if (!best || !best.points.length) return { x: t.x + t.vx * leadS, y: t.y + t.vy * leadS };
  let p = best.points[0]!;
  for (const q of best.points) if (q.dt <= leadS + 1e-6) p = q;
  return { x: p.x, y: p.y };
}

/**
 * A scale bar for a map `widthM` metres wide: the longest 1, 2 or 5 × 10^k metres that fits in
 * `fraction` of the width, so a person can read distances off the map.
 */
export function scaleBar(widthM: number, fraction = 0.2): { metres: number; label: string } {
  const target = Math.max(widthM * fraction, 1e-3);
  const p = 10 ** Math.floor(Math.log10(target));
  const metres = [5, 2, 1].map((m) => m * p).find((m) => m <= target) ?? p;
  const label = metres >= 1000 ? `${metres / 1000} km` : metres >= 1 ? `${metres} m` : `${Math.round(metres * 100)} cm`;
  return { metres, label };
}

export type PointRow = { u: string; v: string; x: string; y: string };
export type CalibrationPoint = { image: { u: number; v: number }; ground: { x: number; y: number } };

/** Reference points typed into the calibration form, or what is wrong with them in words. */
export function calibrationPoints(rows: readonly PointRow[]): CalibrationPoint[] | string {
  const bad = rows.findIndex((r) => [r.u, r.v, r.x, r.y].some((v) => v.trim() === '' || !Number.isFinite(Number(v))));
  if (bad >= 0) return `Point ${bad + 1} needs all four numbers: image u and v (0 to 1 across and down the frame) and ground x and y in metres.`;
  const points = rows.map((r) => ({ image: { u: Number(r.u), v: Number(r.v) }, ground: { x: Number(r.x), y: Number(r.y) } }));
  if (points.some((q) => q.image.u < 0 || q.image.u > 1 || q.image.v < 0 || q.image.v > 1)) return 'Image positions run from 0 to 1 (left to right, top to bottom of the frame).';
  return points;
}

/** A corner typed as "x, y" (metres; keyboard path for drawing a zone), or what is wrong with it. */
export function parseCorner(text: string): { x: number; y: number } | string {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!m) return 'Type the corner as x, y in metres, e.g. 12.5, 4';
  return { x: Number(m[1]), y: Number(m[2]) };
}

/**
 * The live caption: the time now, and how old the newest track update is when that is more than a
 * few seconds (tracks are published only while cameras see something, so an old one is a pause,
 * not "live at" a minute ago).
 */
export function liveCaption(latestAt: number | undefined, now: number, receivedAt?: number): string {
  const time = new Date(now).toLocaleTimeString(undefined, { hour12: false });
  if (latestAt === undefined) return `Live · ${time} · waiting for tracks`;
  const age = now - (receivedAt ?? latestAt);
  if (age < 3000) return `Live · ${time}`;
  const s = Math.round(age / 1000);
  const ago = s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
  return `Live · ${time} · no track update for ${ago} (last ${new Date(latestAt).toLocaleTimeString(undefined, { hour12: false })})`;
}

/**
 * The time strip's horizontal scale: lane names sit in a gutter of `gutter` units on the left and
 * time runs over the rest (the bars used to run under the names and hide them once the window was
 * full). `toTime` maps a fraction of the strip's width (a pointer) back to a time, clamped.
 */
export function stripScale(start: number, end: number, width: number, gutter: number): { x: (t: number) => number; toTime: (fraction: number) => number } {
  const span = end - start;
  const inner = width - gutter;
  return {
    x: (t) => gutter + ((t - start) / span) * inner,
    toTime: (f) => start + Math.min(1, Math.max(0, (f * width - gutter) / inner)) * span,
  };
}
