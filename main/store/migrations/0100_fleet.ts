import type { Migration } from '../migrate';

export const m0100_fleet: Migration = {
  version: 100,
  name: 'fleet: cameras',
  sql: `
    -- Passwords are not here: they live in the SecretStore as camera.<id>.password.
    CREATE TABLE cameras (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      host TEXT NOT NULL,
      port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
      username TEXT NOT NULL,
      model TEXT NOT NULL DEFAULT '',
      serial TEXT NOT NULL DEFAULT '',
      architecture TEXT NOT NULL DEFAULT '',
      soc TEXT NOT NULL DEFAULT '',
      firmware TEXT NOT NULL DEFAULT '',
      status TEXT NOT NULL DEFAULT 'unknown',
      fov TEXT NOT NULL DEFAULT '{}',
      public_key TEXT,
      key_id TEXT,
      demo INTEGER NOT NULL DEFAULT 0,
      demo_active INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      UNIQUE (host, port)
    ) STRICT;
    CREATE INDEX cameras_serial ON cameras (serial);

    CREATE TABLE fleet_state (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) STRICT;
  `,
};
