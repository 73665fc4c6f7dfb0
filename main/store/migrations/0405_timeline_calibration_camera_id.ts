import type { Migration } from '../migrate';

/**
 * Calibrations were kept under the camera's serial (what its detections arrived under); the
 * timeline now knows a camera by its registry id (CameraId) only. Each row kept under a serial
 * moves to the id of the registered camera with that serial (the active one first, as the fleet
 * maps serials); a row no camera claims, or whose camera already has one under its id, stays.
 */
export const m0405_timeline_calibration_camera_id: Migration = {
  version: 405,
  name: 'timeline: calibrations kept under the camera id, not the serial',
  sql: `
    UPDATE OR IGNORE timeline_calibrations
    SET camera_id = (
      SELECT c.id FROM cameras c WHERE c.serial = timeline_calibrations.camera_id
      ORDER BY (c.demo = 0 OR c.demo_active = 1) DESC, c.created_at LIMIT 1)
    WHERE camera_id NOT IN (SELECT id FROM cameras)
      AND EXISTS (SELECT 1 FROM cameras c WHERE c.serial = timeline_calibrations.camera_id);
  `,
};
