// Where to put text labels next to points so they do not print over each other ("23%33%"): each
// label tries a few positions around its anchor, in order of importance, and takes the first that
// overlaps no label already placed; a label with no free position is left out (its value is still
// in the tooltip or the list). Greedy, as map labelling in a live view must be cheap; an optimal
// placement is NP-hard and not worth a frame.

export interface LabelRequest {
  /** Anchor point, in the drawing's units. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Higher is placed first. */
  priority: number;
}

export interface PlacedLabel {
  index: number;
  /** Top-left corner of the label box. */
  x: number;
  y: number;
}

type Box = { x: number; y: number; w: number; h: number };
/** True when two boxes share any area. */
export const boxesOverlap = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Positions tried around the anchor: right-above, right-below, left-above, left-below, above, below
 * (a point's label beside it); `above` first tries centred above and below, then beside at mid
 * height, then the corners (a node's name, read as its caption).
 */
function candidates(r: LabelRequest, gap: number, prefer: 'corner' | 'above'): Box[] {
  const { x, y, w, h } = r;
  const corners = [
    { x: x + gap, y: y - h - gap, w, h },
    { x: x + gap, y: y + gap, w, h },
    { x: x - w - gap, y: y - h - gap, w, h },
    { x: x - w - gap, y: y + gap, w, h },
  ];
  if (prefer === 'above')
    return [{ x: x - w / 2, y: y - h - gap, w, h }, { x: x - w / 2, y: y + gap, w, h }, { x: x + gap, y: y - h / 2, w, h }, { x: x - w - gap, y: y - h / 2, w, h }, ...corners];
  return [...corners, { x: x - w / 2, y: y - h - gap * 2, w, h }, { x: x - w / 2, y: y + gap * 2, w, h }];
}

/**
 * Places labels; `obstacles` are boxes that labels must also avoid (e.g. the boxes drawn around
 * objects). Labels are returned in the order of their index; those left out are absent.
 */
export function placeLabels(
  requests: readonly LabelRequest[],
  opts: {
    gap?: number;
    obstacles?: readonly Box[];
    bounds?: Box;
    /** Rings of positions: 2 also tries the six positions at three times the gap (a crowded map). */
    rings?: 1 | 2;
    /** Which positions come first (see candidates); `corner` unless told. */
    prefer?: 'corner' | 'above';
  } = {},
): PlacedLabel[] {
  const gap = opts.gap ?? 2;
  const taken: Box[] = [...(opts.obstacles ?? [])];
  const order = requests.map((r, i) => ({ r, i })).sort((a, b) => b.r.priority - a.r.priority || a.i - b.i);
  const placed: PlacedLabel[] = [];
  const inside = (b: Box): boolean => !opts.bounds || (b.x >= opts.bounds.x && b.y >= opts.bounds.y && b.x + b.w <= opts.bounds.x + opts.bounds.w && b.y + b.h <= opts.bounds.y + opts.bounds.h);
  for (const { r, i } of order) {
    const prefer = opts.prefer ?? 'corner';
    const spots = opts.rings === 2 ? [...candidates(r, gap, prefer), ...candidates(r, gap * 3, prefer)] : candidates(r, gap, prefer);
    const spot = spots.find((c) => inside(c) && !taken.some((t) => boxesOverlap(c, t)));
    if (!spot) continue;
    taken.push(spot);
    placed.push({ index: i, x: spot.x, y: spot.y });
  }
  return placed.sort((a, b) => a.index - b.index);
}
