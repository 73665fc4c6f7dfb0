import type { Migration } from '../migrate';

/**
 * Federated learning with the cameras as clients (fl1): a round records who took part at each phase;
 * a model's accuracy and loss are what the cameras report on their held-out data once they run it,
 * so they are unknown (NULL) when the model is made. SQLite cannot drop NOT NULL in place: the models
 * table is rebuilt (foreign keys deferred to the commit, where every referenced version exists again).
 */
export const m0440_federated_fl1: Migration = {
  version: 440,
  name: 'federated fl1: per-phase round detail; model metrics reported by the cameras (nullable)',
  sql: `
    PRAGMA defer_foreign_keys = ON;
    ALTER TABLE federated_rounds ADD COLUMN detail TEXT;
    CREATE TABLE federated_models_new (
      version INTEGER PRIMARY KEY AUTOINCREMENT,
      lineage INTEGER NOT NULL REFERENCES federated_lineages (id),
      round INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      aggregation TEXT NOT NULL,
      algorithm TEXT NOT NULL,
      participants TEXT NOT NULL,
      accuracy REAL,
      loss REAL,
      epsilon REAL,
      delta REAL NOT NULL,
      hash TEXT NOT NULL REFERENCES federated_blobs (hash),
      classes INTEGER NOT NULL,
      features INTEGER NOT NULL,
      param_count INTEGER NOT NULL,
      name TEXT,
      metric_cameras INTEGER NOT NULL DEFAULT 0,
      metric_samples INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    INSERT INTO federated_models_new (version, lineage, round, created_at, aggregation, algorithm, participants, accuracy, loss, epsilon, delta, hash, classes, features, param_count)
      SELECT version, lineage, round, created_at, aggregation, algorithm, participants, accuracy, loss, epsilon, delta, hash, classes, features, param_count FROM federated_models;
    DROP TABLE federated_models;
    ALTER TABLE federated_models_new RENAME TO federated_models;
  `,
};
