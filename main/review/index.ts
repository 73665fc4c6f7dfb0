// Event review (what Frigate's review page is to its users): every confirmed swarm event, with a
// snapshot from each camera that confirmed it, taken over VAPIX at confirmation and kept by content
// hash under a size budget (oldest first out), to be filtered, reviewed and jumped from to the
// Timeline at that moment.
import path from 'node:path';
import type { SwarmEvent } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { Db } from '../store';
import { createBlobStore } from './blobs';
import { reviewStatements } from './statements';

export interface ReviewDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  now: () => number;
  dataDir: string;
  /** One JPEG from the camera an event names as a confirmer (its serial, as the swarm names it; the glue maps it to the camera). */
  snapshot: (serial: string) => Promise<Buffer>;
  /** Snapshot files are kept under this many bytes in all (default 256 MiB). */
  budgetBytes?: number;
  /** At most this many snapshots are taken at once (a burst of events must not flood the cameras). */
  concurrency?: number;
}

export interface ReviewService {
  handlers: Handlers;
  /** Wire to the swarm's events (the composition root does). */
  onSwarmEvent(e: SwarmEvent): void;
  /** Resolves when every snapshot asked for so far has been taken or has failed (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024;

export function createReviewService(deps: ReviewDeps): ReviewService {
  const sql = reviewStatements(deps.db);
  const budget = deps.budgetBytes ?? DEFAULT_BUDGET_BYTES;
  const store = createBlobStore(path.join(deps.dataDir, 'snapshots'), sql.blobs, budget);
  const limit = deps.concurrency ?? 4;
  const queue: { id: number; camera: string }[] = [];
  let running = 0;
  let closed = false;
  const waiters: (() => void)[] = [];

  const publish = (id: number): void => {
    const item = sql.item(id);
    if (item) deps.bus.publish('review.item', item);
  };
  const settle = (): void => {
    if (running === 0 && queue.length === 0) for (const w of waiters.splice(0)) w();
  };
  const pump = (): void => {
    while (!closed && running < limit && queue.length) {
      const job = queue.shift()!;
      running++;
      void take(job).finally(() => {
        running--;
        pump();
        settle();
      });
    }
    settle();
  };
  const take = async ({ id, camera }: { id: number; camera: string }): Promise<void> => {
    const at = deps.now();
    try {
      const jpeg = await deps.snapshot(camera);
      const sha = store.put(jpeg, at);
      sql.putSnapshot(id, camera, { sha256: sha ?? null, bytes: jpeg.length, at, error: sha ? null : 'The picture is larger than the whole snapshot budget.' });
    } catch (err) {
      sql.putSnapshot(id, camera, { sha256: null, bytes: 0, at, error: (err as Error).message });
      deps.log.info({ event: id, camera, err: (err as Error).message }, 'no snapshot for the event review');
    }
    publish(id);
  };

  return {
    onSwarmEvent(e) {
      if (closed) return;
      sql.upsert(e);
      // One snapshot per confirming camera, at confirmation (a camera that joins later is taken then).
      for (const camera of e.confirmers)
        if (!sql.hasSnapshot(e.id, camera) && !queue.some((q) => q.id === e.id && q.camera === camera)) {
          sql.putSnapshot(e.id, camera, { sha256: null, bytes: 0, at: deps.now(), error: 'Taking the picture…' });
          queue.push({ id: e.id, camera });
        }
      publish(e.id);
      pump();
    },
    idle: () => new Promise<void>((resolve) => (running === 0 && queue.length === 0 ? resolve() : waiters.push(resolve))),
    async close() {
      closed = true;
      queue.length = 0;
      if (running) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    handlers: {
      'review.list': (q) => sql.list({ reviewed: q.reviewed, ...(q.zone ? { zone: q.zone } : {}), ...(q.cls ? { cls: q.cls } : {}), ...(q.camera ? { camera: q.camera } : {}) }, { limit: q.limit, beforeId: q.beforeId }),
      'review.snapshot': ({ sha256 }) => {
        const data = store.get(sha256);
        if (!data) throw notFound(`Snapshot ${sha256.slice(0, 12)}… (it may have been evicted to stay under the budget)`);
        return { sha256, mime: 'image/jpeg' as const, dataBase64: data.toString('base64') };
      },
      'review.mark': ({ ids, reviewed }) => {
        const updated = sql.mark(ids, reviewed ? deps.now() : null);
        for (const id of ids) publish(id);
        return { updated };
      },
      'review.storage': () => ({ bytes: sql.blobs.totalBytes(), files: sql.blobFiles(), budgetBytes: budget, evicted: store.evicted() }),
    },
  };
}
