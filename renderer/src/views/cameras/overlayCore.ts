// Per-camera overlay switches (what is drawn over a feed) and where the box labels go. Pure, so the
// rules are tested: a label sits above its box when there is room, below it otherwise, and moves
// aside rather than print over another label ("23%33%").
import { placeLabels } from '../../components/labelPlacement';

export interface Overlay {
  boxes: boolean;
  labels: boolean;
  futures: boolean;
}
export const DEFAULT_OVERLAY: Overlay = { boxes: true, labels: true, futures: true };
export const OVERLAY_NAMES: Record<keyof Overlay, string> = { boxes: 'Boxes', labels: 'Labels', futures: 'Futures' };

/** Reads remembered switches, keeping only what is known (a stale or hand-edited value is ignored). */
export function readOverlays(raw: unknown): Record<string, Overlay> {
  if (!raw || typeof raw !== 'object') return {};
  const out: Record<string, Overlay> = {};
  for (const [id, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!v || typeof v !== 'object') continue;
    const o = v as Partial<Record<keyof Overlay, unknown>>;
    out[id] = { boxes: o.boxes !== false, labels: o.labels !== false, futures: o.futures !== false };
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
export function boxLabelSpots(boxes: readonly BoxLabel[], width: number, height: number): ({ x: number; y: number } | undefined)[] {
  // Anchor at the box's top-left corner; placeLabels tries above-right first, which is "on the
  // top edge, reading into the box" — then below, then to the left.
  const placed = placeLabels(
    boxes.map((b) => ({ x: b.x - 1, y: b.y + 1, w: b.tw, h: b.th, priority: b.score })),
    { gap: 0, bounds: { x: 0, y: 0, w: width, h: height } },
  );
  const out: ({ x: number; y: number } | undefined)[] = boxes.map(() => undefined);
  for (const p of placed) out[p.index] = { x: p.x, y: p.y };
  return out;
}
