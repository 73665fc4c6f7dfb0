/**
 * Futures on a camera feed: each path is a track's probable future in normalised image
 * coordinates (from `timeline.futuresForCamera`), drawn as a polyline that fades along its length
 * (the further ahead, the less certain) with a strength set by the future's probability.
 */
export interface FeedPath {
  points: [number, number][];
  weight: number;
}

/** Width and alpha per segment: probable futures are thick and strong, improbable ones faint. */
export function segmentStyle(weight: number, index: number, segments: number): { alpha: number; width: number } {
  const w = Math.min(1, Math.max(0, weight));
  const fade = segments > 0 ? 1 - index / segments : 1;
  return { alpha: Math.max(0.05, (0.25 + 0.75 * w) * fade), width: 1 + 3 * w };
}

/**
 * Draws the paths onto a canvas of `width` × `height` pixels (the size the feed is drawn at).
 * Pure with respect to its inputs: it only touches `ctx`, and restores its state afterwards.
 */
export function drawFuturesOnFeed(ctx: CanvasRenderingContext2D, paths: FeedPath[], width: number, height: number): void {
  ctx.save();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  // Least probable first, so the most probable future is drawn on top.
  const order = [...paths].sort((a, b) => a.weight - b.weight);
  for (const p of order) {
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
    const end = p.points[n];
    if (end && n > 0 && p.weight >= 0.15) {
      ctx.fillStyle = 'rgba(255, 196, 64, 0.9)';
      ctx.font = '11px system-ui, sans-serif';
      ctx.fillText(`${Math.round(p.weight * 100)}%`, end[0] * width + 4, end[1] * height - 4);
    }
  }
  ctx.restore();
}
