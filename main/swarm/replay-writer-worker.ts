// The replay writer's thread (replay-writer.ts): its own better-sqlite3 connection to the replay
// state's file, so the fsync that makes a batch's replay state durable blocks this thread, never
// the main one. Requests are handled one at a time in the order they were posted (FIFO), so the
// answers come back in that order too.
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import { prepareReplayFile, type ReplayRow, type ToWriter, type WriterAnswer } from './replay-writer-file';

const data = z.object({ file: z.string().min(1), syncPort: z.unknown(), syncFlag: z.instanceof(SharedArrayBuffer), busyTimeoutMs: z.number().int().nonnegative() }).parse(workerData);
const syncPort = data.syncPort as MessagePort;
const flag = new Int32Array(data.syncFlag);
const db: Database.Database = prepareReplayFile(data.file);
db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
const upsert = db.prepare(
  `INSERT INTO swarm_replay (camera, key, epoch, highest, window, updated_at) VALUES (?, ?, ?, ?, ?, ?)
   ON CONFLICT(camera, key) DO UPDATE SET epoch = excluded.epoch, highest = excluded.highest, window = excluded.window, updated_at = excluded.updated_at`,
);
const write = db.transaction((rows: readonly ReplayRow[], at: number) => {
  for (const [camera, key, epoch, highest, window] of rows) upsert.run(camera, key, epoch, highest, BigInt.asIntN(64, window), at);
});
let synchronous = 'FULL';

const commit = (m: Extract<ToWriter, { type: 'commit' }>): WriterAnswer => {
  try {
    // Written behind (fl-only batches, see coordinator.ts): no fsync for this commit; the next full
    // commit's fsync of the WAL covers its frames.
    const want = m.durable ? 'FULL' : 'NORMAL';
    if (want !== synchronous) {
      db.pragma(`synchronous = ${want}`);
      synchronous = want;
    }
    const t0 = performance.now();
    write(m.rows, m.at);
    return { id: m.id, ms: performance.now() - t0 };
  } catch (err) {
    return { id: m.id, error: (err as Error).message || String(err) };
  }
};

parentPort!.on('message', (m: ToWriter) => {
  if (m.type === 'close') {
    db.close();
    parentPort!.postMessage({ id: m.id } satisfies WriterAnswer);
    return;
  }
  const answer = commit(m);
  if (m.sync) {
    // A caller blocked in Atomics.wait: the answer goes to its port, then the flag wakes it.
    syncPort.postMessage(answer);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  } else parentPort!.postMessage(answer);
});
