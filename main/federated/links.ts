import type { CameraState } from '../../preload/contract/fleet';
import type { CameraId } from '../../preload/contract/camera-id';
import type { FleetService } from '../fleet';

/** What the federated rounds need to know about the cameras, from the live fleet and swarm. */
export interface LiveCameras {
  /** Registered cameras: the federation's members (each keeps its local data while registered). */
  cameras(): CameraId[];
  /** Offline cameras (and ones the swarm has marked down or quarantined) are never selected. */
  available(cameraId: CameraId): boolean;
  /** 0..1; selection prefers healthy links. */
  linkHealth(cameraId: CameraId): number;
  /** Measured message loss 0..1 from the swarm; null when nothing has been measured for the camera. */
  linkLoss(cameraId: CameraId): number | null;
}

/** The swarm topology's view of one camera's link (main/swarm's TopoNode, structurally). */
export interface SwarmLink {
  id: string;
  status: 'healthy' | 'degraded' | 'down' | 'quarantined';
  /** Fraction of sequence numbers missing, exponentially weighted. */
  loss: number;
  latencyMs: number | null;
  /** When the last authentic message arrived; null before any (then loss means nothing yet). */
  lastSeen?: number | null;
}

/** Link health from the swarm's measurements: delivery rate, discounted beyond 500 ms latency. */
export function swarmLinkHealth(link: SwarmLink): number {
  if (link.status === 'down' || link.status === 'quarantined') return 0;
  const delivery = Math.max(0, Math.min(1, 1 - link.loss));
  const latency = link.latencyMs !== null && link.latencyMs > 500 ? 500 / link.latencyMs : 1;
  return delivery * latency;
}

/**
 * Fallback for cameras the swarm has no link measurements for (it has not registered them, or no
 * signed message has arrived yet): a coarse health from the fleet's connection state.
 */
export function fleetStateFallbackHealth(state: CameraState): number {
  return { online: 1, stalled: 0.5, connecting: 0.3, unknown: 0.3, offline: 0 }[state];
}

export function liveCameras(deps: {
  fleet: Pick<FleetService, 'registry' | 'status'>;
  /** The swarm topology's nodes (swarm.coordinator.topology.graph().nodes); omit when there is no swarm. */
  swarmLinks?: () => readonly SwarmLink[];
}): LiveCameras {
  // The swarm's topology names a camera by its serial (what it signs its messages with), the fleet
  // and the federation by its id: a link is found by the camera's serial attribute.
  const linkOf = (id: CameraId): SwarmLink | undefined => {
    const serial = deps.fleet.registry.get(id)?.serial;
    return serial ? (deps.swarmLinks?.() ?? []).find((l) => l.id === serial) : undefined;
  };
  const state = (id: CameraId): CameraState => deps.fleet.status(id)?.state ?? 'offline';
  return {
    cameras: () => deps.fleet.registry.list().map((c) => c.id),
    available: (id) => {
      if (state(id) === 'offline') return false;
      const l = linkOf(id);
      return !l || (l.status !== 'down' && l.status !== 'quarantined');
    },
    linkHealth: (id) => {
      const l = linkOf(id);
      return l ? swarmLinkHealth(l) : fleetStateFallbackHealth(state(id));
    },
    linkLoss: (id) => {
      const l = linkOf(id);
      return l && l.lastSeen !== null && Number.isFinite(l.loss) ? Math.max(0, Math.min(1, l.loss)) : null;
    },
  };
}
