import type { Migration } from '../migrate';

export const m0410_timeline_history: Migration = {
  version: 410,
  name: 'timeline: history of track segments per camera and of intervention points, kept for a retention period',
  sql: `
    CREATE TABLE timeline_segments (
      track_id TEXT NOT NULL,
      camera TEXT NOT NULL,
      cls TEXT NOT NULL,
      from_ts INTEGER NOT NULL,
      to_ts INTEGER NOT NULL,
      PRIMARY KEY (track_id, camera, from_ts)
    );
    CREATE INDEX timeline_segments_to ON timeline_segments (to_ts);
    CREATE TABLE timeline_intervention_log (
      track_id TEXT NOT NULL,
      zone_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      probability REAL NOT NULL,
      lead_time_s REAL NOT NULL,
      act_by INTEGER NOT NULL,
      suggested_action TEXT NOT NULL,
      PRIMARY KEY (track_id, zone_id, at)
    );
    CREATE INDEX timeline_intervention_log_at ON timeline_intervention_log (at);
  `,
};
