import type { Migration } from '../migrate';

export const m0450_review: Migration = {
  version: 450,
  name: 'review: confirmed events to review, a snapshot per confirming camera, snapshot files by content hash',
  sql: `
    CREATE TABLE review_events (
      id INTEGER PRIMARY KEY,
      zone TEXT NOT NULL,
      cls TEXT NOT NULL,
      start_ts INTEGER NOT NULL,
      end_ts INTEGER NOT NULL,
      confirmed_at INTEGER NOT NULL,
      closed INTEGER NOT NULL DEFAULT 0,
      confirmers TEXT NOT NULL,
      reviewed_at INTEGER
    );
    CREATE INDEX review_events_zone ON review_events (zone, id);
    CREATE INDEX review_events_cls ON review_events (cls, id);
    CREATE TABLE review_blobs (
      sha256 TEXT PRIMARY KEY,
      bytes INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE INDEX review_blobs_age ON review_blobs (created_at);
    CREATE TABLE review_snapshots (
      event_id INTEGER NOT NULL REFERENCES review_events (id) ON DELETE CASCADE,
      camera TEXT NOT NULL,
      sha256 TEXT REFERENCES review_blobs (sha256) ON DELETE SET NULL,
      bytes INTEGER NOT NULL,
      taken_at INTEGER NOT NULL,
      error TEXT,
      PRIMARY KEY (event_id, camera)
    );
    CREATE INDEX review_snapshots_camera ON review_snapshots (camera, event_id);
  `,
};
