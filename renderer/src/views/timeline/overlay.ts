import { placeLabels } from '../../components/labelPlacement';

/**
 * Futures on a camera feed: each path is a track's probable future in normalised image
 * coordinates (from `timeline.futuresForCamera`), drawn as a polyline that fades along its length
 * (the further ahead, the less certain) with a strength set by the future's probability.
 */
export interface FeedPath {
  points: [number, number][];
  weight: number;
  /** When given, only each track's most likely future is labelled (the others are drawn, unlabelled). */
  trackId?: string;
}

/** Feed area (px²) per future percentage label: 5 on a 440×250 tile, 46 on 1280×720. */
export const LABEL_AREA = 20_000;

/** A percentage's box at 11 px ("100%" is ~27 px wide). */
const LABEL_W = 30;
const LABEL_H = 12;

/** Width and alpha per segment: probable futures are thick and strong, improbable ones faint. */
export function segmentStyle(weight: number, index: number, segments: number): { alpha: number; width: number } {
  const w = Math.min(1, Math.max(0, weight));
  const fade = segments > 0 ? 1 - index / segments : 1;
  return { alpha: Math.max(0.05, (0.25 + 0.75 * w) * fade), width: 1 + 3 * w };
}

/**
 * Draws the paths onto a canvas of `width` × `height` pixels (the size the feed is drawn at).
 * Pure with respect to its inputs: it only touches `ctx`, and restores its state afterwards.
 * Returns the boxes of the percentages it wrote, so the detection boxes' labels drawn over the
 * feed afterwards can keep off them (they printed over each other: "Car 6827%").
 */
export function drawFuturesOnFeed(ctx: CanvasRenderingContext2D, paths: FeedPath[], width: number, height: number, labels = true): { x: number; y: number; w: number; h: number }[] {
  ctx.save();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  // Least probable first, so the most probable future is drawn on top.
  const order = [...paths].sort((a, b) => a.weight - b.weight);
  // Percentages placed so that none prints over another; the least probable give way.
  const ends = order.map((p) => p.points[p.points.length - 1]);
  const best = new Map<string, number>();
  for (const p of order) if (p.trackId !== undefined) best.set(p.trackId, Math.max(best.get(p.trackId) ?? 0, p.weight));
  const labelled = (p: FeedPath): boolean => p.weight >= 0.15 && p.points.length > 1 && (p.trackId === undefined || best.get(p.trackId) === p.weight);
  // At most one percentage per LABEL_AREA px² of feed, the most probable first: a 4-grid tile of a
  // busy scene carried twenty near-equal "3x%" over the people it is meant to show.
  const most = Math.max(1, Math.floor((width * height) / LABEL_AREA));
  const spots = labels
    ? placeLabels(
        order.map((p, i) => ({ x: (ends[i]?.[0] ?? 0) * width, y: (ends[i]?.[1] ?? 0) * height, w: LABEL_W, h: LABEL_H, priority: labelled(p) ? p.weight : -1 })),
        { gap: 4, bounds: { x: 0, y: 0, w: width, h: height } }, // none cut off at the tile's edge
      )
        .filter((q) => labelled(order[q.index]!))
        .sort((a, b) => order[b.index]!.weight - order[a.index]!.weight || a.index - b.index)
        .slice(0, most)
    : [];
  const spotOf = new Map(spots.map((q) => [q.index, q]));
  for (const [k, p] of order.entries()) {
    const n = p.points.length - 1;
    for (let i = 0; i < n; i++) {
      const [u0, v0] = p.points[i]!;
      const [u1, v1] = p.points[i + 1]!;
      const { alpha, width: lw } = segmentStyle(p.weight, i, n);
      ctx.strokeStyle = `rgba(255, 196, 64, ${alpha.toFixed(3)})`;
      ctx.lineWidth = lw;
      ctx.beginPath();
      ctx.moveTo(u0 * width, v0 * height);
      ctx.lineTo(u1 * width, v1 * height);
      ctx.stroke();
    }
    const spot = spotOf.get(k);
    if (spot) {
      ctx.font = '11px system-ui, sans-serif';
      // A dark outline first: amber text alone is unreadable over sunlit ground and pale buildings.
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.75)';
      ctx.lineWidth = 3;
      ctx.strokeText(`${Math.round(p.weight * 100)}%`, spot.x, spot.y + 12);
      ctx.fillStyle = 'rgba(255, 196, 64, 1)';
      ctx.fillText(`${Math.round(p.weight * 100)}%`, spot.x, spot.y + 12);
    }
  }
  ctx.restore();
  return spots.map((q) => ({ x: q.x, y: q.y, w: LABEL_W, h: LABEL_H }));
}
