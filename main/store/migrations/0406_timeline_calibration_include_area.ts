import type { Migration } from '../migrate';

export const m0406_timeline_calibration_include_area: Migration = {
  version: 406,
  name: 'timeline: where in its image a camera detects (calibration.cgi includeArea), JSON, null = the whole frame',
  sql: `
    ALTER TABLE timeline_calibrations ADD COLUMN include_area TEXT;
  `,
};
