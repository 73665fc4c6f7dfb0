// Cameras by the name a person gave them, wherever the app shows one: the swarm, the timeline and
// the security log know a camera by its id or its serial, the operator by its name. Pure, so tested.
import type { Camera } from '../../../preload/contract';

export type CameraNames = ReadonlyMap<string, string>;

/** Every id a camera is known by (registry id, serial in either case) → its name. */
export function namesFrom(cameras: readonly Pick<Camera, 'id' | 'serial' | 'name'>[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of cameras) {
    m.set(c.id, c.name);
    if (c.serial) {
      m.set(c.serial, c.name);
      m.set(c.serial.toUpperCase(), c.name);
      m.set(c.serial.toLowerCase(), c.name);
    }
  }
  return m;
}

/** A camera's name, or its id shortened to what a person can compare ("…30C15B") when unknown. */
export function cameraLabel(id: string, names: CameraNames): string {
  return names.get(id) ?? (id.length > 10 ? `…${id.slice(-6)}` : id);
}

/** Ids in the order a person looks for them: named cameras by name, numbers compared as numbers ("Demo 2" before "Demo 10"), then ids without a name. */
export function byCameraName(ids: Iterable<string>, names: CameraNames): string[] {
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const unnamed = (id: string): number => (names.has(id) ? 0 : 1);
  return [...ids].sort((a, b) => unnamed(a) - unnamed(b) || collator.compare(cameraLabel(a, names), cameraLabel(b, names)) || (a < b ? -1 : a > b ? 1 : 0));
}

/** `text` with every camera id or serial in it replaced by the camera's name (toasts, log lines). */
export function nameCameras(text: string, names: CameraNames): string {
  if (!names.size) return text;
  // Longest first, so a serial is replaced before an id that happens to be a prefix of it.
  const keys = [...names.keys()].filter((k) => k.length >= 4).sort((a, b) => b.length - a.length);
  if (!keys.length) return text;
  const re = new RegExp(`\\b(${keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})\\b`, 'g');
  return text.replace(re, (k) => names.get(k) ?? k);
}

const PALETTE = ['#4e9af1', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#edc948', '#76b7b2', '#ff9da7', '#9c755f', '#86bcb6', '#d37295', '#8cd17d', '#a0cbe8', '#ffbe7d', '#f1ce63', '#bab0ac'];

/**
 * A colour per camera that stays the same across refreshes and charts: cameras are placed in
 * the order of their ids, the first sixteen get a palette made to be told apart, later ones a hue
 * by the golden angle.
 */
export function cameraColour(id: string, allIds: readonly string[]): string {
  const sorted = [...new Set(allIds)].sort();
  const i = sorted.indexOf(id);
  const k = i < 0 ? hash(id) : i;
  if (k < PALETTE.length && i >= 0) return PALETTE[k]!;
  return `hsl(${Math.round((k * 137.508) % 360)} 65% 60%)`;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) % 1000;
}
