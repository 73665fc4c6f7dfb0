// Every SQL statement of the swarm capability, with its rows decoded by schema (not cast).
import { z } from 'zod';
import type { Db } from '../store';
import type { ReplayEntry } from './replay';

const replayRow = z.object({ camera: z.string(), key: z.string(), epoch: z.bigint(), highest: z.bigint(), window: z.bigint() });

export interface ReplayStatements {
  load(): ReplayEntry[];
  /** Upserts the entries in one transaction (one fsync with synchronous=FULL). */
  save(entries: readonly ReplayEntry[], at: number): void;
}

export function replayStatements(db: Db): ReplayStatements {
  // 64-bit window: read as BigInt so no bit is lost to a double.
  const all = db.prepare('SELECT camera, key, epoch, highest, window FROM swarm_replay').safeIntegers(true);
  const upsert = db.prepare(
    `INSERT INTO swarm_replay (camera, key, epoch, highest, window, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(camera, key) DO UPDATE SET epoch = excluded.epoch, highest = excluded.highest, window = excluded.window, updated_at = excluded.updated_at`,
  );
  const saveAll = db.transaction((entries: readonly ReplayEntry[], at: number) => {
    for (const e of entries) upsert.run(e.camera, e.key, e.epoch, e.highest, BigInt.asIntN(64, e.window), at);
  });
  return {
    load: () =>
      all.all().map((raw) => {
        const r = replayRow.parse(raw);
        return { camera: r.camera, key: r.key, epoch: Number(r.epoch), highest: Number(r.highest), window: BigInt.asUintN(64, r.window) };
      }),
    save: (entries, at) => saveAll(entries, at),
  };
}
