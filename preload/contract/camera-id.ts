// The one identity of a camera, shared by main, preload and the renderer (imports zod only).
//
// A camera IS the fleet registry's record: `CameraId` is that record's id (`cam_<12 hex>` for
// cameras the app registers). The device serial is an attribute of the record (`Camera.serial`):
// it is what a camera signs its MQTT messages with, so the swarm names cameras by serial, and a
// serial is mapped to the camera id in one place only, the fleet (`FleetService.cameraIdOf`). A
// simulated camera's id may equal its serial; no code may rely on that.
//
// The type is branded, so a plain string (a serial, a name, a topic) cannot be passed where a
// camera id is expected: the one way to make a CameraId is `cameraIdSchema` (at a boundary, inside
// a contract schema or a row schema) or `parseCameraId` (the same schema, throwing).
import { z } from 'zod';

/** Letters, digits and `_ - . :`, starting with a letter or digit, 1–64 characters. */
export const CAMERA_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const cameraIdSchema = z
  .string()
  .regex(CAMERA_ID_PATTERN, 'a camera id: 1–64 letters, digits, _ - . or :, as fleet.list gives it')
  .meta({ title: 'CameraId', description: "A camera's registry id (fleet.list); not its serial." })
  .brand<'CameraId', 'inout'>();

export type CameraId = z.infer<typeof cameraIdSchema>;

/** A CameraId from a string known to be one (tests, ids the app generated); throws a ZodError otherwise. */
export const parseCameraId = (s: string): CameraId => cameraIdSchema.parse(s);

/** Whether `s` is a well-formed camera id (narrows it). */
export const isCameraId = (s: string): s is CameraId => cameraIdSchema.safeParse(s).success;
