// Glue between the swarm and federated learning (docs/protocol.md, fl2), on the one trust path:
//  - a camera's fl message reaches the aggregation server only after the swarm verified it
//    (signature under the recorded key, epoch, replay window), never from MQTT directly;
//  - the swarm's detection outcomes go to the cameras as their labels;
//  - verified heartbeats say which head each camera runs and its held-out metric.
import type { FederatedService } from '../federated';
import type { SwarmService } from '../swarm';

export interface FederatedLinkDeps {
  swarm: Pick<SwarmService, 'onVerifiedFl' | 'onOutcomes' | 'onMessage'>;
  federated: Pick<FederatedService, 'receive' | 'outcomes' | 'heartbeat'>;
  /** Only registered cameras (by serial) take part. */
  isRegistered: (serial: string) => boolean;
}

/** Returns the unsubscribe. */
export function linkFederated(deps: FederatedLinkDeps): () => void {
  const offs = [
    deps.swarm.onVerifiedFl((m) => {
      if (deps.isRegistered(m.serial)) deps.federated.receive(m.serial, m.body);
    }),
    deps.swarm.onOutcomes((items) => deps.federated.outcomes(items.filter((o) => deps.isRegistered(o.camera)))),
    deps.swarm.onMessage((m) => {
      if (m.verified && m.kind === 'heartbeat' && deps.isRegistered(m.serial)) deps.federated.heartbeat(m.serial, m.body);
    }),
  ];
  return () => offs.forEach((off) => off());
}
