import type { TimelineIntervention } from '../../../../preload/contract';

/** A site zone from the swarm (where events are confirmed): context on the map, not editable here. */
export interface SiteZone {
  id: string;
  name: string;
  polygon: { x: number; y: number }[];
}
export interface SwarmEventLite {
  id: number;
  zone: string;
  cls: string;
  startTs: number;
  endTs: number;
  closed: boolean;
}
export interface LoggedIntervention extends TimelineIntervention {
  seenAt: number;
}
