/**
 * The simulated ARTPEC fleet: every camera is its own HTTP and HTTPS server on 127.0.0.1 speaking
 * VAPIX as AXIS OS 12 does to third-party clients (Digest before anything else; API discovery,
 * basicdeviceinfo, param.cgi, user groups, systemready, stream profiles, I/O ports, MJPEG and
 * snapshots at the listed sizes, applications, the MQTT client and event bridge, the SOAP event
 * service) and, once its MQTT client is activated, publishing signed detections per
 * docs/protocol.md and Axis event topics through the bridge's filters. One module per endpoint
 * family (vapix-*.ts) behind camera.ts's route table. Clients in the app talk to it over the wire
 * only; nothing outside this folder may reach into its insides. `npm run conformance` checks the
 * same surface on a real camera.
 */
export type { SimUser, SimCameraInfo, SimFleetOptions, SimFaults, SimActorClass, SimZone, SimActor, SimCalibration, SimScene, SimFleet } from './types';
export { startSimulatedFleet } from './fleet';
export type { AppRuntime, InstalledApp, InstallResult } from './apps';
export { findEmulator } from './runner';
