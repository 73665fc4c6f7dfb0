import type { Migration } from '../migrate';

export const m0250_assist: Migration = {
  version: 250,
  name: 'assist: room summaries, relay and orchestrator preferences',
  sql: `
    CREATE TABLE assist_summaries (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      room_id TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      source TEXT NOT NULL CHECK (source IN ('model', 'extractive')),
      model TEXT,
      text TEXT NOT NULL,
      message_count INTEGER NOT NULL,
      note TEXT
    ) STRICT;
    CREATE INDEX assist_summaries_room ON assist_summaries (room_id, id);

    -- Small JSON preferences of the assist services (relay room, summary threshold, price overrides).
    CREATE TABLE assist_prefs (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;
  `,
};
