import type { Migration } from '../migrate';

export const m0300_swarm: Migration = {
  version: 300,
  name: 'swarm: confirmed events, quarantines with proof, decision summary, state',
  sql: `
    CREATE TABLE swarm_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      zone TEXT NOT NULL,
      cls TEXT NOT NULL,
      start_ts INTEGER NOT NULL,
      end_ts INTEGER NOT NULL,
      confirmed_at INTEGER NOT NULL,
      confirmers TEXT NOT NULL,
      disagreed TEXT NOT NULL DEFAULT '[]',
      flagged TEXT NOT NULL DEFAULT '[]',
      f INTEGER NOT NULL,
      n INTEGER NOT NULL,
      closed INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX swarm_events_zone ON swarm_events (zone, id);

    -- Both signed payloads are kept verbatim: they are the proof, checkable by anyone with the key.
    CREATE TABLE swarm_quarantines (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      camera TEXT NOT NULL,
      reason TEXT NOT NULL,
      track_id TEXT NOT NULL,
      ts INTEGER NOT NULL,
      first TEXT NOT NULL,
      second TEXT NOT NULL,
      detected_at INTEGER NOT NULL,
      released_at INTEGER,
      released_note TEXT
    ) STRICT;
    CREATE INDEX swarm_quarantines_open ON swarm_quarantines (camera, released_at);

    -- Decisions summarised per day, rule and subject (a camera or zone): how often, not each one.
    CREATE TABLE swarm_decisions (
      day INTEGER NOT NULL,
      rule TEXT NOT NULL,
      subject TEXT NOT NULL,
      count INTEGER NOT NULL,
      PRIMARY KEY (day, rule, subject)
    ) STRICT;

    CREATE TABLE swarm_state (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) STRICT;
  `,
};
