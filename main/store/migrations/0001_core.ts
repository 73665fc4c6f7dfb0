import type { Migration } from '../migrate';

export const m0001_core: Migration = {
  version: 1,
  name: 'core: settings, audit log, secrets',
  sql: `
    CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE audit_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      ts INTEGER NOT NULL,
      kind TEXT NOT NULL,
      severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
      source TEXT NOT NULL,
      message TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT '{}',
      resolved_at INTEGER,
      resolved_note TEXT
    ) STRICT;
    CREATE INDEX audit_events_kind ON audit_events (kind, id);
    CREATE INDEX audit_events_open ON audit_events (resolved_at, id);

    -- Encrypted by the SecretStore before they get here; never clear text.
    CREATE TABLE secrets (
      name TEXT PRIMARY KEY,
      ciphertext BLOB NOT NULL,
      scheme TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;
  `,
};
