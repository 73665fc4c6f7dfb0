// The main window's size, place and maximised state across launches, in <userData>/window-state.json.
// Written here rather than taken from electron-window-state (last released 2019): the part that
// matters, putting a window back only where a display still shows it, is a few lines that are
// tested under Node; the library reads `screen` itself and cannot be tested without Electron.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

const int = z.number().int().min(-100_000).max(100_000);
const stateSchema = z
  .object({
    x: int,
    y: int,
    width: z.number().int().min(200).max(100_000),
    height: z.number().int().min(200).max(100_000),
    maximized: z.boolean(),
    fullScreen: z.boolean(),
  })
  .strict();
export type WindowState = z.infer<typeof stateSchema>;

export const DEFAULT_SIZE = { width: 1440, height: 900 };
export const MIN_SIZE = { width: 960, height: 600 };
const FILE = 'window-state.json';

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * The bounds to open with. A saved window goes back where it was when a display still shows enough
 * of it (a quarter, and its title bar), shrunk to fit that display; otherwise it opens at the default
 * size centred on the primary display (a monitor was unplugged, the resolution changed).
 */
export function restoreBounds(saved: WindowState | undefined, workAreas: Rect[]): Partial<Rect> & { width: number; height: number } {
  const primary = workAreas[0];
  const fallback = (): Partial<Rect> & { width: number; height: number } => {
    if (!primary) return { ...DEFAULT_SIZE };
    const width = Math.min(DEFAULT_SIZE.width, primary.width);
    const height = Math.min(DEFAULT_SIZE.height, primary.height);
    return { x: primary.x + Math.round((primary.width - width) / 2), y: primary.y + Math.round((primary.height - height) / 2), width, height };
  };
  if (!saved) return fallback();
  const area = workAreas.reduce<Rect | undefined>((best, a) => (overlap(saved, a) > (best ? overlap(saved, best) : 0) ? a : best), undefined);
  const titleBar: Rect = { x: saved.x, y: saved.y, width: saved.width, height: 32 };
  if (!area || overlap(saved, area) < (saved.width * saved.height) / 4 || !workAreas.some((a) => overlap(titleBar, a) > 0)) return fallback();
  const width = Math.max(Math.min(saved.width, area.width), Math.min(MIN_SIZE.width, area.width));
  const height = Math.max(Math.min(saved.height, area.height), Math.min(MIN_SIZE.height, area.height));
  const x = Math.min(Math.max(saved.x, area.x), area.x + area.width - width);
  const y = Math.min(Math.max(saved.y, area.y), area.y + area.height - height);
  return { x, y, width, height };
}

/** A missing, unreadable or invalid file means "no saved state", never a failed start. */
export function loadWindowState(dir: string): WindowState | undefined {
  try {
    const parsed = stateSchema.safeParse(JSON.parse(fs.readFileSync(path.join(dir, FILE), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function saveWindowState(dir: string, state: WindowState): void {
  const parsed = stateSchema.safeParse({ ...state, x: Math.round(state.x), y: Math.round(state.y), width: Math.round(state.width), height: Math.round(state.height) });
  if (!parsed.success) return;
  const file = path.join(dir, FILE);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(parsed.data));
  fs.renameSync(`${file}.tmp`, file);
}
