// Where the ground map's text goes. Zone names and intervention notes stay where they are drawn
// (the zone's corner, the intervention point); track ids and future percentages are placed around
// their anchor (components/labelPlacement) so that they cover none of those, no track's dot, and
// each other. A label with no free spot is left out: its text is still in the dot's or the path's
// tooltip (GroundMap adds a <title>).
// Coordinates are the SVG's: x east, y DOWN (ground y negated), in metres; `unit` is one drawing pixel.
import { placeLabels, type LabelRequest } from '../../components/labelPlacement';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Width of a line of text: 0.62 em per character is DejaVu Sans' (Chromium's fallback on Linux)
 * mean advance over digits and lower case, a little generous for narrower faces.
 */
export const textWidth = (text: string, fontSize: number): number => fontSize * 0.62 * text.length;

/** The box covered by text drawn with its baseline's start at (x, y). */
export function textBox(text: string, x: number, y: number, fontSize: number): Box {
  // Ascenders reach ~0.8 em above the baseline, descenders ~0.25 em below.
  return { x, y: y - fontSize * 0.8, w: textWidth(text, fontSize), h: fontSize * 1.05 };
}

/** A fixed piece of text on the map (zone name, intervention note), as GroundMap draws it. */
export interface FixedText {
  text: string;
  x: number;
  y: number;
  fontSize: number;
}

export interface MapLabelInput {
  tracks: readonly { id: string; x: number; y: number; futures: readonly { weight: number; end?: { x: number; y: number } }[] }[];
  fixed: readonly FixedText[];
  unit: number;
  /** The visible drawing (the SVG's viewBox): labels stay inside it. */
  bounds?: Box;
  /** Futures lighter than this get no percentage label (they are faint on the map anyway). */
  minWeight?: number;
}

export interface MapLabels {
  /** Key `t:<track id>` or `f:<track id>:<future index>` → baseline start of its text. */
  at: Map<string, { x: number; y: number }>;
  /** Keys that had no free spot and are left out. */
  dropped: Set<string>;
}

export const LABEL_FONT = 1.8; // in units
const DOT_R = 0.9; // in units, the track dot's radius

export function layoutMapLabels(input: MapLabelInput): MapLabels {
  const { unit } = input;
  const fs = unit * LABEL_FONT;
  const obstacles: Box[] = input.fixed.map((f) => textBox(f.text, f.x, f.y, f.fontSize));
  for (const t of input.tracks) obstacles.push({ x: t.x - DOT_R * unit, y: -t.y - DOT_R * unit, w: 2 * DOT_R * unit, h: 2 * DOT_R * unit });
  const keys: string[] = [];
  const req: LabelRequest[] = [];
  const h = fs * 1.05;
  for (const t of input.tracks) {
    keys.push(`t:${t.id}`);
    // Anchored a dot's radius off the centre, so the label never touches its own dot.
    req.push({ x: t.x, y: -t.y, w: textWidth(t.id, fs), h, priority: 10 });
    for (const [i, f] of t.futures.entries()) {
      if (!f.end || f.weight < (input.minWeight ?? 0.15)) continue;
      keys.push(`f:${t.id}:${i}`);
      req.push({ x: f.end.x, y: -f.end.y, w: textWidth('100%', fs), h, priority: f.weight });
    }
  }
  const placed = placeLabels(req, { gap: unit * (DOT_R + 0.3), obstacles, bounds: input.bounds, rings: 2 });
  const at = new Map<string, { x: number; y: number }>();
  // placeLabels gives the box's top-left; text is drawn from its baseline.
  for (const q of placed) at.set(keys[q.index]!, { x: q.x, y: q.y + fs * 0.8 });
  return { at, dropped: new Set(keys.filter((k) => !at.has(k))) };
}
