// Where the Swarm graph writes each camera's name. Names are whole ("Demo 7 (P3265-LVE)", not a
// 14-character cut): a label goes centred above its camera when that spot is free, else below or
// beside it, and never over another label, another camera's dot or outside the drawing (the legend
// strip at the bottom excluded). A name that finds no free spot is left out rather than printed over
// another; the hover card, the camera list and the keyboard path still name it.
import { placeLabels, type LabelRequest } from '../../components/labelPlacement';

export interface GraphLabelNode {
  id: string;
  text: string;
  /** Centre of the dot and its drawn radius (ring included), in canvas pixels. */
  x: number;
  y: number;
  r: number;
  /** Measured text width in pixels. */
  w: number;
  /** Placed first: the chosen or hovered camera, then reference cameras. */
  priority: number;
}

export interface GraphLabel {
  id: string;
  text: string;
  /** Top-left corner and size of the label box, in canvas pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Labels for the nodes inside `bounds`; nodes are taken in id order for equal priority, so the placement does not flicker between frames. */
export function placeGraphLabels(nodes: readonly GraphLabelNode[], bounds: { w: number; h: number }, lineHeight = 14): GraphLabel[] {
  const sorted = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Every dot is an obstacle, so a name never hides a camera.
  const obstacles = sorted.map((n) => ({ x: n.x - n.r, y: n.y - n.r, w: 2 * n.r, h: 2 * n.r }));
  const placed: GraphLabel[] = [];
  // Each label is placed on its own (its gap is its dot's radius plus a little air), in priority
  // order, against every other dot and every label placed before it.
  const order = sorted.map((n, i) => ({ n, i })).sort((a, b) => b.n.priority - a.n.priority || a.i - b.i);
  for (const { n, i } of order) {
    const req: LabelRequest = { x: n.x, y: n.y, w: n.w, h: lineHeight, priority: 0 };
    const others = [...obstacles.filter((_, j) => j !== i), ...placed];
    const [spot] = placeLabels([req], { gap: n.r + 3, obstacles: others, bounds: { x: 0, y: 0, w: bounds.w, h: bounds.h }, prefer: 'above', rings: 2 });
    if (spot) placed.push({ id: n.id, text: n.text, x: spot.x, y: spot.y, w: n.w, h: lineHeight });
  }
  return placed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
