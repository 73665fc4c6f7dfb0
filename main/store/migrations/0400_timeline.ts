import type { Migration } from '../migrate';

export const m0400_timeline: Migration = {
  version: 400,
  name: 'timeline: restricted zones, camera ground calibrations, learned prediction statistics',
  sql: `
    CREATE TABLE timeline_zones (
      id TEXT PRIMARY KEY,
      definition TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE timeline_calibrations (
      camera_id TEXT PRIMARY KEY,
      points TEXT NOT NULL,
      homography TEXT NOT NULL,
      rms_error_m REAL NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    -- Switch-matrix counts, process noise and running error sums, one JSON value per key.
    CREATE TABLE timeline_learning (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;
  `,
};
