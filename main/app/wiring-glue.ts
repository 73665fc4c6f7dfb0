// Glue between the swarm coordinator and the capabilities that act on its verdicts:
//  - the timeline tracks only detections the swarm accepted (signature, key, replay and clock
//    checks per the fleet's verification mode) from cameras that are not quarantined; there is no
//    other path from MQTT to the timeline;
//  - the fleet shows a camera the swarm quarantines as quarantined until it is released.
// Verification mode: the timeline follows the swarm's acceptance. In strict mode a report that fails
// any check never reaches it; in permissive mode the user has chosen to let flagged reports count,
// so the timeline takes them as fusion does; in audit mode failures are only recorded.
import type { EventBus } from '../kernel/bus';
import type { FleetService } from '../fleet';
import type { SwarmService } from '../swarm';
import type { TimelineService } from '../timeline';

export interface VerifiedTimelineDeps {
  swarm: Pick<SwarmService, 'onVerifiedDetections'>;
  timeline: Pick<TimelineService, 'ingest'>;
  /** Only cameras the fleet has registered (by serial) feed the timeline, as before. */
  isRegistered: (serial: string) => boolean;
}

/** Feeds the timeline from the swarm's verified detections; returns the unsubscribe. */
export function linkVerifiedTimeline(deps: VerifiedTimelineDeps): () => void {
  return deps.swarm.onVerifiedDetections((serial, frameTs, observations) => {
    if (deps.isRegistered(serial)) deps.timeline.ingest(serial, frameTs, observations);
  });
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
