import type { Migration } from '../migrate';

export const m0401_timeline_calibration_source: Migration = {
  version: 401,
  name: 'timeline: where a camera calibration came from (reference points set by the user, or the camera itself)',
  sql: `
    ALTER TABLE timeline_calibrations ADD COLUMN source TEXT NOT NULL DEFAULT 'reference-points';
  `,
};
