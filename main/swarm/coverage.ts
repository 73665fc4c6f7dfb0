// What a camera covers, built from what the desktop knows about it: a ground calibration
// (homography image → ground) when there is one, else the zones the user listed it under.
import type { Box } from './envelope';
import { pointInPolygon, type CameraCoverage, type Point, type Zone } from './fusion';

export type Mat3 = readonly [number, number, number, number, number, number, number, number, number];

/** A site zone as the user (or the demo scene) configures it. */
export interface ZoneConfig extends Zone {
  name: string;
  /** Cameras (serials) that cover this zone without a calibration; the coverage falls back to this list. */
  cameras: readonly string[];
}

export function invert3(m: Mat3): Mat3 | undefined {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-15) return undefined;
  const s = 1 / det;
  return [A * s, -(b * i - c * h) * s, (b * f - c * e) * s, B * s, (a * i - c * g) * s, -(a * f - c * d) * s, C * s, -(a * h - b * g) * s, (a * e - b * d) * s];
}

/** Applies H to (a, b); undefined at or beyond the horizon (w ≤ 0). */
export function applyH(h: Mat3, a: number, b: number): Point | undefined {
  const w = h[6] * a + h[7] * b + h[8];
  if (!(w > 1e-12)) return undefined;
  return { x: (h[0] * a + h[1] * b + h[2]) / w, y: (h[3] * a + h[4] * b + h[5]) / w };
}

/** A point that lies inside the polygon: its vertex mean when that is inside, else the middle of an inside scan line. */
export function interiorPoint(poly: readonly Point[]): Point {
  const m = poly.reduce((acc, p) => ({ x: acc.x + p.x / poly.length, y: acc.y + p.y / poly.length }), { x: 0, y: 0 });
  if (pointInPolygon(m, poly)) return m;
  const xs = poly.map((p) => p.x);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  for (let k = 1; k < 64; k++) {
    const p = { x: lo + ((hi - lo) * k) / 64, y: m.y };
    if (pointInPolygon(p, poly)) return p;
  }
  return poly[0] ?? m;
}

/** A point in the normalised image (0..1, v down), the frame of the detection boxes. */
export interface ImagePoint {
  u: number;
  v: number;
}

/**
 * A camera covers a zone when at least this share of the zone's area lies where its detector reports
 * objects. Coverage decides how many lying cameras a zone's fusion tolerates (f of its n covering
 * cameras), so a camera counted for a zone it barely sees would make the swarm wait for reports
 * that never come; a quarter is the simulator's own rule for the zones a camera is listed under.
 */
export const MIN_ZONE_SHARE = 0.25;
/** Grid points sampled per zone (at most about this many inside its bounding box). */
const ZONE_SAMPLES = 900;

/**
 * The share of a zone's area (sampled on a grid) whose ground points map, in front of the camera,
 * into the image region where it detects: its include area when it reports one, else the whole
 * frame. A homography alone is unbounded: a zone 200 m away near the horizon still maps into the
 * frame, though nothing there is large enough to detect; the include area is what bounds it.
 */
export function zoneShareInView(groundToImage: Mat3, zone: Zone, includeArea?: readonly ImagePoint[]): number {
  const xs = zone.polygon.map((p) => p.x);
  const ys = zone.polygon.map((p) => p.y);
  const x0 = Math.min(...xs);
  const y0 = Math.min(...ys);
  const w = Math.max(...xs) - x0;
  const h = Math.max(...ys) - y0;
  if (!(w > 0 && h > 0)) return 0;
  const step = Math.sqrt((w * h) / ZONE_SAMPLES);
  const area = includeArea?.map((p) => ({ x: p.u, y: p.v }));
  let inside = 0;
  let seen = 0;
  for (let x = x0 + step / 2; x < x0 + w; x += step)
    for (let y = y0 + step / 2; y < y0 + h; y += step) {
      if (!pointInPolygon({ x, y }, zone.polygon)) continue;
      inside++;
      const uv = applyH(groundToImage, x, y);
      if (!uv) continue;
      if (area ? pointInPolygon(uv, area) : uv.x >= 0 && uv.x <= 1 && uv.y >= 0 && uv.y <= 1) seen++;
    }
  return inside ? seen / inside : 0;
}

/** Zones of which at least MIN_ZONE_SHARE of the area is where the camera detects (see zoneShareInView). */
export function zonesInView(imageToGround: Mat3, zones: readonly Zone[], includeArea?: readonly ImagePoint[]): string[] {
  const groundToImage = invert3(imageToGround);
  if (!groundToImage) return [];
  return zones.filter((z) => zoneShareInView(groundToImage, z, includeArea) >= MIN_ZONE_SHARE).map((z) => z.id);
}

export interface CoverageInput {
  serial: string;
  /** Image (normalised 0..1) → ground homography, when the camera is calibrated. */
  imageToGround?: Mat3;
  /** Zones known to be in view (e.g. the simulator's scene lists them); otherwise derived from the homography. */
  zonesInView?: readonly string[];
  /** Where in its image the camera reports objects (calibration.cgi `includeArea`); the whole frame when absent. */
  includeArea?: readonly ImagePoint[];
}

/**
 * The coverage fusion uses. Calibrated: a box maps to the ground at its foot point (bottom centre,
 * where the object touches the ground) and the camera covers the zones in view plus those it is
 * listed under. Uncalibrated: it covers only the zones it is listed under and every box counts for
 * the first of them (its interior point), since without a calibration there is nothing to tell
 * the zones apart. Without either, it covers nothing: its reports are verified but confirm nothing.
 */
export function buildCoverage(input: CoverageInput, zones: readonly ZoneConfig[]): CameraCoverage & { calibrated: boolean } {
  const listed = zones.filter((z) => z.cameras.includes(input.serial)).map((z) => z.id);
  const known = new Set(zones.map((z) => z.id));
  if (input.imageToGround) {
    const h = input.imageToGround;
    const inView = (input.zonesInView ?? zonesInView(h, zones, input.includeArea)).filter((z) => known.has(z));
    const covered = [...new Set([...inView, ...listed])];
    const far = { x: Number.NaN, y: Number.NaN }; // beyond the horizon: inside no polygon
    return { zones: covered, calibrated: true, toGround: (b: Box) => applyH(h, (b.left + b.right) / 2, b.bottom) ?? far };
  }
  const first = zones.find((z) => z.id === listed[0]);
  const at = first ? interiorPoint(first.polygon) : { x: Number.NaN, y: Number.NaN };
  return { zones: first ? [first.id] : [], calibrated: false, toGround: () => at };
}

/** A stable fingerprint, so re-registering is skipped when nothing changed. */
export const coverageKey = (input: CoverageInput, zones: readonly ZoneConfig[]): string =>
  JSON.stringify([input.imageToGround ?? null, input.zonesInView ?? null, input.includeArea ?? null, zones.filter((z) => z.cameras.includes(input.serial)).map((z) => z.id)]);
