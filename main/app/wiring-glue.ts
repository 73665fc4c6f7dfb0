// Glue between the swarm coordinator and the capabilities that act on its verdicts (the one trust
// path: MQTT hands raw payloads to the swarm, which alone parses and verifies them):
//  - the timeline tracks only detections the swarm verified (signature, key, replay and clock
//    checks all passed, whatever the verification mode) from cameras that are not quarantined;
//  - the fleet's live status, tile boxes and the deploy's heartbeats come from the swarm's verified
//    messages; a report's boxes reach its tile as soon as the swarm checked it (onDetectionsShowable),
//    before its replay commit, everything else about it after (onMessage); in permissive mode a well-formed report that failed a check is shown on its tile,
//    marked as unverified, and nothing else; malformed messages count as the camera's bad input;
//  - the fleet shows a camera the swarm quarantines as quarantined until it is released;
//  - the event review's snapshots: a confirmer (a serial, as the swarm names cameras) is taken from
//    the camera the fleet maps it to;
//  - the embedded MQTT broker's health goes to the clients (the status bar's line), and its return
//    after its thread died is a notice.
import type { CameraId } from '../../preload/contract/camera-id';
import type { EventBus } from '../kernel/bus';
import { AppError } from '../kernel/errors';
import type { FleetService } from '../fleet';
import type { MqttService } from '../mqtt';
import type { SwarmService } from '../swarm';
import type { TimelineService } from '../timeline';

export interface VerifiedTimelineDeps {
  swarm: Pick<SwarmService, 'onVerifiedDetectionsBatch'>;
  timeline: Pick<TimelineService, 'ingestBatch'>;
  /**
   * The registered camera (with a recorded key) that signs with this serial, from the fleet (the one
   * place a serial becomes a camera id); only those feed the timeline, under their camera id.
   */
  cameraOf: (serial: string) => CameraId | undefined;
}

/** Feeds the timeline from the swarm's verified detections; returns the unsubscribe. */
export function linkVerifiedTimeline(deps: VerifiedTimelineDeps): () => void {
  // One timeline call per verified batch (the swarm's commit), not one per report.
  return deps.swarm.onVerifiedDetectionsBatch((items) => {
    const frames: Parameters<TimelineService['ingestBatch']>[0][number][] = [];
    for (const it of items) {
      const id = deps.cameraOf(it.serial);
      if (id) frames.push({ cameraId: id, frameTimestamp: it.frameTs, observations: it.observations });
    }
    if (frames.length) deps.timeline.ingestBatch(frames);
  });
}

export interface SwarmFleetDeps {
  swarm: Pick<SwarmService, 'onMessage' | 'onRefused' | 'onDetectionsShowable'>;
  fleet: Pick<FleetService, 'onCameraMessage' | 'onBadMessage' | 'showDetections'>;
}

/** The fleet hears of camera messages only through the swarm; returns the unsubscribe. */
export function linkSwarmMessagesToFleet(deps: SwarmFleetDeps): () => void {
  const offs = [
    deps.swarm.onDetectionsShowable((m) => deps.fleet.showDetections(m)),
    deps.swarm.onMessage((m) => deps.fleet.onCameraMessage(m)),
    deps.swarm.onRefused((b) => deps.fleet.onBadMessage(b)),
  ];
  return () => offs.forEach((off) => off());
}

export interface QuarantineFleetDeps {
  swarm: { coordinator: { fusion: { quarantined(): readonly { camera: string; reason: string; detectedAt: number }[] } } };
  fleet: Pick<FleetService, 'setQuarantine'>;
  bus: EventBus;
}

/** Mirrors the swarm's quarantines (those restored at start, then its events) into fleet status. */
export function linkQuarantineToFleet(deps: QuarantineFleetDeps): () => void {
  for (const p of deps.swarm.coordinator.fusion.quarantined()) deps.fleet.setQuarantine(p.camera, { since: p.detectedAt, reason: p.reason });
  return deps.bus.subscribe('swarm.quarantine', (q) => {
    deps.fleet.setQuarantine(q.camera, q.releasedAt === null ? { since: q.detectedAt, reason: q.reason } : null);
  });
}

/**
 * One JPEG from the camera the swarm names by this serial (an event's confirmer), for the event
 * review: the fleet maps the serial to the camera id, then takes the snapshot over VAPIX.
 */
export function snapshotBySerial(fleet: Pick<FleetService, 'cameraIdOf' | 'snapshot'>): (serial: string) => Promise<Buffer> {
  return async (serial) => {
    const id = fleet.cameraIdOf(serial);
    if (!id) throw new AppError('not_found', `No camera ${serial} is registered.`);
    return fleet.snapshot(id);
  };
}

/**
 * Every change of the embedded broker's health to the clients (app.broker: the status bar shows a line
 * while it restarts), and a notice when it is back after a restart. Returns the unsubscribe.
 */
export function linkBrokerHealth(deps: { mqtt: Pick<MqttService, 'onBrokerState'>; bus: EventBus; now: () => number }): () => void {
  return deps.mqtt.onBrokerState((health, before) => {
    deps.bus.publish('app.broker', health);
    if (health.state === 'serving' && before?.state === 'restarting') {
      const seconds = Math.max(1, Math.round((deps.now() - before.since) / 1000));
      deps.bus.publish('app.notification', {
        title: 'Camera message broker is back',
        body: `Restarted on the same port after ${seconds} s; cameras publish to it again. Their reports sent while it was down are lost.`,
        severity: 'info',
      });
    }
  });
}
