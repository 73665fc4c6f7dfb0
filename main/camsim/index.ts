/**
 * The simulated ARTPEC fleet: every camera is its own HTTP server on 127.0.0.1 speaking VAPIX
 * (Digest, basicdeviceinfo, param.cgi, MJPEG, applications, MQTT client) and, once its MQTT client
 * is activated, publishing signed detections per docs/protocol.md. Clients in the app talk to it
 * over the wire only; nothing outside this folder may reach into its insides.
 */
export type { SimUser, SimCameraInfo, SimFleetOptions, SimFaults, SimActorClass, SimZone, SimActor, SimCalibration, SimScene, SimFleet } from './types';
export { startSimulatedFleet } from './fleet';
export type { AppRuntime, InstalledApp, InstallResult } from './apps';
export { findEmulator } from './runner';
