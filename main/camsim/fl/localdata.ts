// The camera's own training data (FL-SPEC "Labels"): the features of every detection it published,
// keyed by (epoch, seq, index), labelled when the desktop's outcome for it arrives, dropped when
// none arrives within 30 s. It lives only in the app's local data folder on the camera, as an
// append-only log (one line per detection or outcome, flushed about once a second so a hundred
// cameras in one process cost a few small appends a second each) that is compacted when it grows;
// it is read back at the next start. 20 % of samples are held out by a hash of the key.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FEATURES, type Sample } from './head';

export const PENDING_TTL_MS = 30_000;
export const DEFAULT_CAPACITY = 5000;

export interface LocalData {
  /** A published detection's features (the key is its envelope's epoch and seq and its index in observations). */
  record(epoch: number, seq: number, index: number, x: readonly number[], at: number): void;
  /** The desktop's outcome for one detection; unknown keys (expired, never ours) are ignored. Returns true when it labelled one. */
  label(epoch: number, seq: number, index: number, confirmed: boolean): boolean;
  /** Drops detections older than the TTL that never got an outcome. */
  expire(now: number): void;
  train(): Sample[];
  heldOut(): Sample[];
  counts(): { pending: number; labelled: number; train: number; heldOut: number; positives: number };
  /** Writes what is buffered (called about once a second and at close). */
  flush(): void;
  close(): void;
}

/** Held out when the first byte of SHA-256("epoch:seq:index") is below 20 % of 256. */
export function isHeldOut(epoch: number, seq: number, index: number): boolean {
  const h = createHash('sha256').update(`${epoch}:${seq}:${index}`).digest();
  return h[0]! < 51;
}

const key = (e: number, s: number, i: number): string => `${e}:${s}:${i}`;
const r4 = (v: number): number => Math.round(v * 10000) / 10000;

type Labelled = { e: number; s: number; i: number; y: 0 | 1; x: number[]; held: boolean };

export function createLocalData(o: { dir?: string; now: () => number; capacity?: number; maxPending?: number }): LocalData {
  const capacity = o.capacity ?? DEFAULT_CAPACITY;
  const maxPending = o.maxPending ?? 4 * capacity;
  const pending = new Map<string, { x: number[]; at: number }>();
  // Insertion order = arrival order: the oldest labelled sample goes first when full.
  const labelled = new Map<string, Labelled>();
  const file = o.dir ? path.join(o.dir, 'samples.jsonl') : undefined;
  let buffer: string[] = [];
  let lines = 0;

  const addLabelled = (l: Labelled): void => {
    const k = key(l.e, l.s, l.i);
    labelled.delete(k);
    labelled.set(k, l);
    while (labelled.size > capacity) labelled.delete(labelled.keys().next().value!);
  };

  const validX = (x: unknown): x is number[] => Array.isArray(x) && x.length === FEATURES && x.every((v) => typeof v === 'number' && Number.isFinite(v));
  const ints = (a: unknown[], n: number): boolean => a.slice(0, n).every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);

  // Read back what an earlier run kept. A torn last line (power loss mid-append) is skipped.
  if (file && fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      lines++;
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      if (!rec || typeof rec !== 'object') continue;
      const r = rec as { d?: unknown[]; o?: unknown[]; l?: unknown[] };
      if (Array.isArray(r.d) && r.d.length === 4 + FEATURES && ints(r.d, 4)) {
        const [e, s, i, at] = r.d as number[];
        const x = r.d.slice(4);
        if (validX(x)) pending.set(key(e!, s!, i!), { x, at: at! });
      } else if (Array.isArray(r.o) && r.o.length === 4 && ints(r.o, 3) && (r.o[3] === 0 || r.o[3] === 1)) {
        const [e, s, i, y] = r.o as number[];
        const k = key(e!, s!, i!);
        const p = pending.get(k);
        if (p) {
          pending.delete(k);
          addLabelled({ e: e!, s: s!, i: i!, y: y as 0 | 1, x: p.x, held: isHeldOut(e!, s!, i!) });
        }
      } else if (Array.isArray(r.l) && r.l.length === 4 + FEATURES && ints(r.l, 3) && (r.l[3] === 0 || r.l[3] === 1)) {
        const [e, s, i, y] = r.l as number[];
        const x = r.l.slice(4);
        if (validX(x)) addLabelled({ e: e!, s: s!, i: i!, y: y as 0 | 1, x, held: isHeldOut(e!, s!, i!) });
      }
    }
    // Detections whose outcome can no longer come go now (the log replays in time order).
    const now = o.now();
    for (const [k, p] of pending) if (now - p.at > PENDING_TTL_MS) pending.delete(k);
  }

  const compact = (): void => {
    if (!file || !o.dir) return;
    const out: string[] = [];
    for (const l of labelled.values()) out.push(JSON.stringify({ l: [l.e, l.s, l.i, l.y, ...l.x] }));
    for (const [k, p] of pending) {
      const [e, s, i] = k.split(':').map(Number);
      out.push(JSON.stringify({ d: [e, s, i, p.at, ...p.x] }));
    }
    const tmp = path.join(o.dir, `.samples.jsonl.${process.pid}.tmp`);
    fs.writeFileSync(tmp, out.length ? `${out.join('\n')}\n` : '', { mode: 0o600 });
    fs.renameSync(tmp, file);
    lines = out.length;
    buffer = [];
  };

  const flush = (): void => {
    if (!file || !o.dir || buffer.length === 0) return;
    fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    if (lines + buffer.length > 3 * (capacity + maxPending / 4)) return compact();
    fs.appendFileSync(file, `${buffer.join('\n')}\n`, { mode: 0o600 });
    lines += buffer.length;
    buffer = [];
  };

  const samples = (held: boolean): Sample[] => {
    const out: Sample[] = [];
    for (const l of labelled.values()) if (l.held === held) out.push({ x: l.x, y: l.y });
    return out;
  };

  return {
    record(e, s, i, x, at) {
      if (x.length !== FEATURES) throw new Error(`a sample has ${FEATURES} features, not ${x.length}`);
      const fx = x.map(r4);
      if (pending.size >= maxPending) {
        // Full of detections nobody has answered for: the oldest go (their outcome would come too late anyway).
        const oldest = pending.keys().next().value!;
        pending.delete(oldest);
      }
      pending.set(key(e, s, i), { x: fx, at });
      if (file) buffer.push(JSON.stringify({ d: [e, s, i, at, ...fx] }));
    },
    label(e, s, i, confirmed) {
      const k = key(e, s, i);
      const p = pending.get(k);
      if (!p) return false;
      pending.delete(k);
      const y = confirmed ? 1 : 0;
      addLabelled({ e, s, i, y, x: p.x, held: isHeldOut(e, s, i) });
      if (file) buffer.push(JSON.stringify({ o: [e, s, i, y] }));
      return true;
    },
    expire(now) {
      for (const [k, p] of pending) {
        if (now - p.at <= PENDING_TTL_MS) break; // insertion order is time order
        pending.delete(k);
      }
    },
    train: () => samples(false),
    heldOut: () => samples(true),
    counts() {
      let held = 0;
      let pos = 0;
      for (const l of labelled.values()) {
        if (l.held) held++;
        pos += l.y;
      }
      return { pending: pending.size, labelled: labelled.size, train: labelled.size - held, heldOut: held, positives: pos };
    },
    flush,
    close: flush,
  };
}
