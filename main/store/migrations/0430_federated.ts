import type { Migration } from '../migrate';

export const m0430_federated: Migration = {
  version: 430,
  name: 'federated: configuration, lineages, rounds, model versions, parameter blobs',
  sql: `
    CREATE TABLE federated_config (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      value TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    -- A lineage is one model trained from zero; its privacy budget is accounted separately.
    CREATE TABLE federated_lineages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      started_at INTEGER NOT NULL
    ) STRICT;

    -- Parameters by content hash (SHA-256 of float32 little-endian), so a deploy can name and check them.
    CREATE TABLE federated_blobs (
      hash TEXT PRIMARY KEY,
      data BLOB NOT NULL,
      created_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE federated_models (
      version INTEGER PRIMARY KEY AUTOINCREMENT,
      lineage INTEGER NOT NULL REFERENCES federated_lineages (id),
      round INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      aggregation TEXT NOT NULL,
      algorithm TEXT NOT NULL,
      participants TEXT NOT NULL,
      accuracy REAL NOT NULL,
      loss REAL NOT NULL,
      epsilon REAL,
      delta REAL NOT NULL,
      hash TEXT NOT NULL REFERENCES federated_blobs (hash),
      classes INTEGER NOT NULL,
      features INTEGER NOT NULL,
      param_count INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE federated_rounds (
      round INTEGER PRIMARY KEY,
      lineage INTEGER NOT NULL REFERENCES federated_lineages (id),
      started_at INTEGER NOT NULL,
      finished_at INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('completed', 'aborted')),
      aggregation TEXT NOT NULL,
      algorithm TEXT NOT NULL,
      selected TEXT NOT NULL,
      participants TEXT NOT NULL,
      dropped TEXT NOT NULL,
      accuracy REAL,
      loss REAL,
      epsilon REAL,
      delta REAL NOT NULL,
      sigma REAL,
      reason TEXT,
      model_version INTEGER REFERENCES federated_models (version)
    ) STRICT;
    CREATE INDEX federated_rounds_lineage ON federated_rounds (lineage, round);
  `,
};
