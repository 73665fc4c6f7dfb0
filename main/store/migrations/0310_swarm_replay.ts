import type { Migration } from '../migrate';

export const m0310_swarm_replay: Migration = {
  version: 310,
  name: 'swarm: replay state per camera and key (envelope v2 boot epoch, highest seq, 64-entry window)',
  sql: `
    -- One row per (camera, key): written in one transaction per ingest batch, before any message of
    -- the batch has an effect, so a message accepted before a restart or crash stays refused after it.
    CREATE TABLE swarm_replay (
      camera TEXT NOT NULL,
      key TEXT NOT NULL,
      epoch INTEGER NOT NULL,
      highest INTEGER NOT NULL,
      -- bit d set: seq highest-d was accepted (d < 64); a signed 64-bit INTEGER holding the unsigned bitmap
      window INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (camera, key)
    ) STRICT, WITHOUT ROWID;
  `,
};
