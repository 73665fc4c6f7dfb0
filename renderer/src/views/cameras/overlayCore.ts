// Per-camera overlay switches (what is drawn over a feed), where the box labels go, and the zones
// projected into a camera's image. Pure, so the rules are tested: a label sits above its box when
// there is room, below it otherwise, and moves aside rather than print over another label
// ("23%33%"); a zone is clipped where it passes behind the camera rather than drawn mirrored.
import { placeLabels } from '../../components/labelPlacement';

export interface Overlay {
  boxes: boolean;
  labels: boolean;
  futures: boolean;
  /** Site zones and restricted zones, drawn through the camera's ground calibration. Off unless asked for. */
  zones: boolean;
}
export const DEFAULT_OVERLAY: Overlay = { boxes: true, labels: true, futures: true, zones: false };
export const OVERLAY_NAMES: Record<keyof Overlay, string> = { boxes: 'Boxes', labels: 'Labels', futures: 'Futures', zones: 'Zones' };

/** Reads remembered switches, keeping only what is known (a stale or hand-edited value is ignored). */
export function readOverlays(raw: unknown): Record<string, Overlay> {
  if (!raw || typeof raw !== 'object') return {};
  const out: Record<string, Overlay> = {};
  for (const [id, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!v || typeof v !== 'object') continue;
    const o = v as Partial<Record<keyof Overlay, unknown>>;
    out[id] = { boxes: o.boxes !== false, labels: o.labels !== false, futures: o.futures !== false, zones: o.zones === true };
  }
  return out;
}

export interface BoxLabel {
  /** Box in pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Label size in pixels. */
  tw: number;
  th: number;
  score: number;
}

/**
 * The top-left corner of each box's label, or undefined where it cannot go without covering
 * another label. Higher scores choose first; labels prefer the box's top edge.
 */
export function boxLabelSpots(boxes: readonly BoxLabel[], width: number, height: number, avoid: readonly { x: number; y: number; w: number; h: number }[] = []): ({ x: number; y: number } | undefined)[] {
  // Anchor at the box's top-left corner; placeLabels tries above-right first, which is "on the
  // top edge, reading into the box" — then below, then to the left.
  const placed = placeLabels(
    boxes.map((b) => ({ x: b.x - 1, y: b.y + 1, w: b.tw, h: b.th, priority: b.score })),
    // `avoid`: text already on the feed (the futures' percentages), which a label must not cover.
    { gap: 0, bounds: { x: 0, y: 0, w: width, h: height }, obstacles: avoid },
  );
  const out: ({ x: number; y: number } | undefined)[] = boxes.map(() => undefined);
  for (const p of placed) out[p.index] = { x: p.x, y: p.y };
  return out;
}

// ---- zones in the image ----

export interface GroundZone {
  id: string;
  name: string;
  /** site: a zone fusion confirms events in (swarm.zones); restricted: an intervention zone (timeline.zones). */
  kind: 'site' | 'restricted';
  polygon: readonly { x: number; y: number }[];
}
export interface ImageZone {
  id: string;
  name: string;
  kind: GroundZone['kind'];
  /** Normalised image points (u right, v down); may reach outside 0..1 where the zone leaves the frame. */
  points: [number, number][];
}

type M3 = readonly number[];

/** Inverse of a 3×3 matrix (row-major), or undefined when it is singular. */
export function invert3(m: M3): number[] | undefined {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) return undefined;
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

const mul = (m: M3, x: number, y: number): [number, number, number] => [m[0]! * x + m[1]! * y + m[2]!, m[3]! * x + m[4]! * y + m[5]!, m[6]! * x + m[7]! * y + m[8]!];

/**
 * Ground zones seen through one camera. `h` maps normalised image points to ground metres (the
 * calibration's homography); its inverse is scaled so that ground in front of the camera has w > 0
 * (checked at the bottom centre of the image, which looks at the ground), and each polygon is
 * clipped to w > 0 in homogeneous coordinates (Sutherland–Hodgman against one plane) before the
 * divide, so a zone that reaches behind the camera is cut at the horizon instead of folding over.
 * Zones entirely outside the frame are left out.
 */
export function projectZones(h: M3, zones: readonly GroundZone[]): ImageZone[] {
  let inv = invert3(h);
  if (!inv) return [];
  const [gx, gy, gw] = mul(h, 0.5, 0.95);
  if (Math.abs(gw) < 1e-12) return [];
  if (mul(inv, gx / gw, gy / gw)[2] < 0) inv = inv.map((v) => -v);
  const out: ImageZone[] = [];
  for (const z of zones) {
    const hom = z.polygon.map((p) => mul(inv, p.x, p.y));
    const maxW = Math.max(...hom.map((p) => Math.abs(p[2])));
    // Points nearer the horizon than this would land thousands of frames away; cut there instead.
    const eps = maxW * 1e-3 || 1e-12;
    const clipped: [number, number, number][] = [];
    for (let k = 0; k < hom.length; k++) {
      const p = hom[k]!;
      const q = hom[(k + 1) % hom.length]!;
      const pin = p[2] > eps;
      const qin = q[2] > eps;
      if (pin) clipped.push(p);
      if (pin !== qin) {
        const t = (eps - p[2]) / (q[2] - p[2]);
        clipped.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]), eps]);
      }
    }
    if (clipped.length < 3) continue;
    const points = clipped.map(([x, y, w]): [number, number] => [x / w, y / w]);
    const us = points.map((p) => p[0]);
    const vs = points.map((p) => p[1]);
    if (Math.max(...us) < 0 || Math.min(...us) > 1 || Math.max(...vs) < 0 || Math.min(...vs) > 1) continue;
    out.push({ id: z.id, name: z.name, kind: z.kind, points });
  }
  return out;
}
