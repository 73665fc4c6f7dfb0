import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventPayload, EventTopic, SwarmEvent } from '../../preload/contract';
import { openDatabase } from '../store';
import { createReviewService } from './index';

const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, child: () => quietLog } as never;

function setup(opts: { budgetBytes?: number; snapshot?: (c: string) => Promise<Buffer> } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'review-'));
  let t = 1_000;
  const { db } = openDatabase({ dir, now: () => t });
  const pushed: { topic: EventTopic; payload: unknown }[] = [];
  const bus = { publish: <T extends EventTopic>(topic: T, payload: EventPayload<T>) => void pushed.push({ topic, payload }), subscribe: () => () => undefined } as never;
  // A different (fake but JPEG-marked) picture per call, 1000 bytes each.
  let n = 0;
  const jpeg = (): Buffer => {
    const b = Buffer.alloc(1000, n++ % 251);
    b[0] = 0xff;
    b[1] = 0xd8;
    return b;
  };
  const review = createReviewService({ db, bus, log: quietLog, now: () => t++, dataDir: dir, snapshot: opts.snapshot ?? (async () => jpeg()), budgetBytes: opts.budgetBytes });
  const call = <M extends keyof typeof review.handlers>(m: M, input: unknown) => (review.handlers[m] as (i: unknown, c: unknown) => unknown)(input, {});
  return { dir, db, review, pushed, call, close: () => db.close() };
}

const ev = (id: number, over: Partial<SwarmEvent> = {}): SwarmEvent => ({
  id,
  zone: 'dock',
  cls: 'Human',
  startTs: 1000 * id,
  endTs: 1000 * id,
  confirmedAt: 1000 * id,
  confirmers: ['CAM1', 'CAM2'],
  disagreed: [],
  flagged: [],
  f: 1,
  n: 3,
  closed: false,
  ...over,
});

let s: ReturnType<typeof setup> | undefined;
afterEach(async () => {
  await s?.review.close();
  s?.close();
  if (s) fs.rmSync(s.dir, { recursive: true, force: true });
  s = undefined;
});

describe('event review', () => {
  it('takes one snapshot per confirming camera at confirmation, kept by content hash, and lists it', async () => {
    s = setup();
    s.review.onSwarmEvent(ev(1));
    s.review.onSwarmEvent(ev(1, { closed: true, endTs: 5000 })); // the close takes no new pictures
    await s.review.idle();
    const list = s.call('review.list', { reviewed: 'all', limit: 10 }) as { items: { id: number; closed: boolean; snapshots: { camera: string; sha256: string | null; error: string | null }[] }[]; unreviewed: number };
    expect(list.items).toHaveLength(1);
    expect(list.items[0]!.closed).toBe(true);
    expect(list.items[0]!.snapshots.map((x) => x.camera)).toEqual(['CAM1', 'CAM2']);
    for (const snap of list.items[0]!.snapshots) {
      expect(snap.error).toBeNull();
      const got = s.call('review.snapshot', { sha256: snap.sha256 }) as { dataBase64: string };
      expect(Buffer.from(got.dataBase64, 'base64').subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      expect(fs.existsSync(path.join(s.dir, 'snapshots', snap.sha256!.slice(0, 2), `${snap.sha256}.jpg`))).toBe(true);
    }
    expect(s.pushed.filter((p) => p.topic === 'review.item').length).toBeGreaterThanOrEqual(3);
  });

  it('stays under its budget by evicting the oldest pictures first; the event keeps its row', async () => {
    s = setup({ budgetBytes: 4500 });
    for (let i = 1; i <= 4; i++) {
      s.review.onSwarmEvent(ev(i));
      await s.review.idle();
    }
    const storage = s.call('review.storage', {}) as { bytes: number; files: number; evicted: number };
    expect(storage.bytes).toBeLessThanOrEqual(4500);
    expect(storage.files).toBe(4);
    expect(storage.evicted).toBe(4);
    const list = s.call('review.list', { reviewed: 'all', limit: 10 }) as { items: { id: number; snapshots: { sha256: string | null }[] }[] };
    const byId = new Map(list.items.map((i) => [i.id, i.snapshots.map((x) => x.sha256 !== null)]));
    expect(byId.get(1)).toEqual([false, false]); // the oldest went first
    expect(byId.get(2)).toEqual([false, false]);
    expect(byId.get(4)).toEqual([true, true]);
    // Its files are gone from the disk too.
    const files = fs.readdirSync(path.join(s.dir, 'snapshots'), { recursive: true }).filter((f) => String(f).endsWith('.jpg'));
    expect(files).toHaveLength(4);
  });

  it('says why a picture is missing when the camera could not give one', async () => {
    s = setup({ snapshot: async (c) => Promise.reject(new Error(`${c} refused the connection`)) });
    s.review.onSwarmEvent(ev(7, { confirmers: ['CAM9'] }));
    await s.review.idle();
    const list = s.call('review.list', { reviewed: 'all', limit: 10 }) as { items: { snapshots: { sha256: string | null; error: string | null }[] }[] };
    expect(list.items[0]!.snapshots[0]).toMatchObject({ sha256: null, error: 'CAM9 refused the connection' });
  });

  it('filters by zone, class, camera and reviewed state, and marks reviewed', async () => {
    s = setup();
    s.review.onSwarmEvent(ev(1, { zone: 'dock', cls: 'Human', confirmers: ['A'] }));
    s.review.onSwarmEvent(ev(2, { zone: 'gate', cls: 'Car', confirmers: ['B'] }));
    s.review.onSwarmEvent(ev(3, { zone: 'gate', cls: 'Human', confirmers: ['A', 'B'] }));
    await s.review.idle();
    const ids = (q: object) => (s!.call('review.list', { reviewed: 'all', limit: 10, ...q }) as { items: { id: number }[] }).items.map((i) => i.id);
    expect(ids({ zone: 'gate' })).toEqual([3, 2]);
    expect(ids({ cls: 'Human' })).toEqual([3, 1]);
    expect(ids({ camera: 'A' })).toEqual([3, 1]);
    expect(s.call('review.mark', { ids: [1, 3], reviewed: true })).toEqual({ updated: 2 });
    expect(ids({ reviewed: 'unreviewed' })).toEqual([2]);
    expect(ids({ reviewed: 'reviewed' })).toEqual([3, 1]);
    const all = s.call('review.list', { reviewed: 'all', limit: 10 }) as { unreviewed: number; facets: { zones: string[]; classes: string[]; cameras: string[] } };
    expect(all.unreviewed).toBe(1);
    expect(all.facets).toEqual({ zones: ['dock', 'gate'], classes: ['Car', 'Human'], cameras: ['A', 'B'] });
  });
});
