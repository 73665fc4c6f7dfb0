import type { CameraState } from '../../preload/contract/fleet';
import type { CameraId } from '../../preload/contract/camera-id';
import type { FleetService } from '../fleet';

/**
 * What the federated rounds need to know about the cameras, from the live fleet and swarm. Cameras
 * are named by serial, as fl2 names them on the wire and the swarm verifies them.
 */
export interface LiveCameras {
  /** Serials of the registered cameras: the federation's members (each keeps its local data). */
  cameras(): string[];
  /** Offline cameras (and ones the swarm has marked down or quarantined) are never selected. */
  available(serial: string): boolean;
  /** 0..1; selection prefers healthy links. */
  linkHealth(serial: string): number;
  /** Measured message loss 0..1 from the swarm; null when nothing has been measured for the camera. */
  linkLoss(serial: string): number | null;
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
  fleet: { registry: Pick<FleetService['registry'], 'list'>; status: FleetService['status'] };
  /** The swarm topology's nodes (swarm.coordinator.topology.graph().nodes); omit when there is no swarm. */
  swarmLinks?: () => readonly SwarmLink[];
}): LiveCameras {
  // The swarm and fl2 know a camera by its serial (what it signs its messages with), the fleet's
  // status by its registry id.
  const members = () => deps.fleet.registry.list().filter((c) => c.serial && !(c.demo && !c.demoActive));
  const idOf = (serial: string): CameraId | undefined => members().find((c) => c.serial === serial)?.id;
  const linkOf = (serial: string): SwarmLink | undefined => (deps.swarmLinks?.() ?? []).find((l) => l.id === serial);
  const state = (serial: string): CameraState => {
    const id = idOf(serial);
    return (id && deps.fleet.status(id)?.state) || 'offline';
  };
  return {
    cameras: () => [...new Set(members().map((c) => c.serial))],
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
