// The fleet's structure as the coordinator sees it: a VIEW of coverage and link health, not a
// routing layer. Every camera sends its signed reports straight to the coordinator over MQTT, and
// fusion cross-checks every report against every other report of the zone there, whatever this
// view says; no message is forwarded, pre-fused or checked by a cluster head. What it computes:
// up to meshMax cameras are drawn as a mesh (each pair of cameras sharing a zone); above that, one
// group per zone with a "head" — the zone's best-linked, most reputable healthy camera, shown as
// its reference point for the operator. Each node carries its link health (latency, loss, last
// heartbeat) and status (down after missed heartbeats, quarantined), and the view is re-formed on
// join, failure, recovery and quarantine, at the next tick after the heartbeat timeout expires
// (`reconfigure_ms` in bench:swarm measures that). The mesh / cluster / head names stay on the
// wire (contract `swarm.status`), but they describe this picture, not a message path.

export type NodeStatus = 'healthy' | 'degraded' | 'down' | 'quarantined';
export interface LinkHealth {
  /** EWMA of receivedAt − sent, ms (includes clock offset, which verification bounds). */
  latencyMs: number | null;
  /** Fraction of sequence numbers missing, exponentially weighted. */
  loss: number;
  lastSeen: number | null;
}
export interface TopoNode extends LinkHealth {
  id: string;
  zones: string[];
  status: NodeStatus;
  cluster: string | null;
  head: boolean;
  reputation: number;
}
export interface TopoEdge {
  a: string;
  b: string;
  kind: 'mesh' | 'member' | 'backbone';
}
export interface TopoCluster {
  id: string;
  zone: string;
  head: string;
  members: string[];
}
export interface TopologyGraph {
  mode: 'mesh' | 'clustered';
  nodes: TopoNode[];
  edges: TopoEdge[];
  clusters: TopoCluster[];
  heads: string[];
  version: number;
  formedAt: number;
}

export interface TopologyOptions {
  now: () => number;
  heartbeatIntervalMs?: number;
  /** A camera is down after k heartbeat intervals without one. */
  missedHeartbeats?: number;
  meshMax?: number;
  reputation?: (id: string) => number;
  /** Loss or latency above these marks a link degraded (it drops in head elections). */
  degradedLoss?: number;
  degradedLatencyMs?: number;
}

export interface TopologyChange {
  changed: boolean;
  failed: string[];
  recovered: string[];
  graph: TopologyGraph;
}

export interface Topology {
  join(id: string, zones: readonly string[]): void;
  leave(id: string): void;
  /** Any authentic message: updates link health (seq gaps, latency). */
  observe(id: string, seq: number, sent: number, receivedAt: number): void;
  heartbeat(id: string, receivedAt: number): void;
  setQuarantined(id: string, q: boolean): void;
  /** Detects failures and re-forms the graph when anything changed. Call at least every interval. */
  tick(): TopologyChange;
  graph(): TopologyGraph;
  timeoutMs: number;
}

interface Member {
  id: string;
  zones: string[];
  joinedAt: number;
  lastHeartbeat: number | null;
  down: boolean;
  quarantined: boolean;
  latency: number | null;
  highestSeq: number;
  received: number;
  missing: number;
  lastSeen: number | null;
}

const EWMA = 0.2;
const LOSS_DECAY = 0.99;

export function createTopology(opts: TopologyOptions): Topology {
  const { now } = opts;
  const interval = opts.heartbeatIntervalMs ?? 1_000;
  const timeoutMs = interval * (opts.missedHeartbeats ?? 3);
  const meshMax = opts.meshMax ?? 5;
  const degradedLoss = opts.degradedLoss ?? 0.05;
  const degradedLatency = opts.degradedLatencyMs ?? 500;
  const reputation = opts.reputation ?? (() => 0.5);
  const members = new Map<string, Member>();
  let dirty = true;
  let current: TopologyGraph = { mode: 'mesh', nodes: [], edges: [], clusters: [], heads: [], version: 0, formedAt: now() };
  let signature = '';

  const lossOf = (m: Member): number => (m.received + m.missing > 0 ? m.missing / (m.received + m.missing) : 0);
  const statusOf = (m: Member): NodeStatus =>
    m.quarantined ? 'quarantined' : m.down ? 'down' : lossOf(m) > degradedLoss || (m.latency ?? 0) > degradedLatency ? 'degraded' : 'healthy';

  const form = (): TopologyGraph => {
    const all = [...members.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const status = new Map(all.map((m) => [m.id, statusOf(m)]));
    const active = all.filter((m) => status.get(m.id) === 'healthy' || status.get(m.id) === 'degraded');
    const rank = (a: Member, b: Member): number =>
      (status.get(a.id) === 'healthy' ? 0 : 1) - (status.get(b.id) === 'healthy' ? 0 : 1) ||
      reputation(b.id) - reputation(a.id) ||
      lossOf(a) - lossOf(b) ||
      (a.id < b.id ? -1 : 1);
    const edges: TopoEdge[] = [];
    const clusters: TopoCluster[] = [];
    const clusterOf = new Map<string, string>();
    let mode: TopologyGraph['mode'];
    if (active.length <= meshMax) {
      mode = 'mesh';
      for (let i = 0; i < active.length; i++)
        for (let j = i + 1; j < active.length; j++) edges.push({ a: active[i]!.id, b: active[j]!.id, kind: 'mesh' });
    } else {
      mode = 'clustered';
      // Each camera joins the least-populated of its zones so cameras that see several zones spread out.
      const byZone = new Map<string, Member[]>();
      for (const m of active) {
        const zones = m.zones.length ? m.zones : ['(no zone)'];
        let best = zones[0]!;
        for (const z of zones) {
          const size = byZone.get(z)?.length ?? 0;
          const bestSize = byZone.get(best)?.length ?? 0;
          if (size < bestSize || (size === bestSize && z < best)) best = z;
        }
        let list = byZone.get(best);
        if (!list) byZone.set(best, (list = []));
        list.push(m);
      }
      for (const zone of [...byZone.keys()].sort()) {
        const list = byZone.get(zone)!;
        const head = [...list].sort(rank)[0]!;
        const c: TopoCluster = { id: `cluster:${zone}`, zone, head: head.id, members: list.map((m) => m.id) };
        clusters.push(c);
        for (const m of list) {
          clusterOf.set(m.id, c.id);
          if (m.id !== head.id) edges.push({ a: m.id, b: head.id, kind: 'member' });
        }
      }
      const heads = clusters.map((c) => c.head);
      for (let i = 0; i < heads.length; i++)
        for (let j = i + 1; j < heads.length; j++) edges.push({ a: heads[i]!, b: heads[j]!, kind: 'backbone' });
    }
    const heads = new Set(clusters.map((c) => c.head));
    const nodes: TopoNode[] = all.map((m) => ({
      id: m.id,
      zones: m.zones,
      status: status.get(m.id)!,
      cluster: clusterOf.get(m.id) ?? null,
      head: heads.has(m.id),
      reputation: reputation(m.id),
      latencyMs: m.latency,
      loss: lossOf(m),
      lastSeen: m.lastSeen,
    }));
    return { mode, nodes, edges, clusters, heads: [...heads], version: current.version, formedAt: now() };
  };

  const tick = (): TopologyChange => {
    const t = now();
    const failed: string[] = [];
    const recovered: string[] = [];
    for (const m of members.values()) {
      const last = m.lastHeartbeat ?? m.joinedAt;
      const isDown = t - last > timeoutMs;
      if (isDown !== m.down) {
        m.down = isDown;
        (isDown ? failed : recovered).push(m.id);
        dirty = true;
      }
    }
    if (!dirty) return { changed: false, failed, recovered, graph: current };
    dirty = false;
    const g = form();
    // Only structure and status count as a change; latency jitter alone does not re-publish.
    const sig = `${g.mode}|${g.clusters.map((c) => `${c.id}:${c.head}:${c.members.join(',')}`).join(';')}|${g.nodes.map((n) => `${n.id}:${n.status}`).join(',')}`;
    const changed = sig !== signature;
    signature = sig;
    current = changed ? { ...g, version: current.version + 1 } : { ...g, version: current.version };
    return { changed, failed, recovered, graph: current };
  };

  return {
    timeoutMs,
    join(id, zones) {
      const m = members.get(id);
      if (m) m.zones = [...zones];
      else
        members.set(id, {
          id,
          zones: [...zones],
          joinedAt: now(),
          lastHeartbeat: null,
          down: false,
          quarantined: false,
          latency: null,
          highestSeq: 0,
          received: 0,
          missing: 0,
          lastSeen: null,
        });
      dirty = true;
    },
    leave(id) {
      if (members.delete(id)) dirty = true;
    },
    observe(id, seq, sent, receivedAt) {
      const m = members.get(id);
      if (!m) return;
      const before = statusOf(m);
      m.latency = m.latency === null ? receivedAt - sent : m.latency + EWMA * (receivedAt - sent - m.latency);
      m.received = m.received * LOSS_DECAY + 1;
      m.missing *= LOSS_DECAY;
      if (m.highestSeq > 0 && seq > m.highestSeq + 1) m.missing += seq - m.highestSeq - 1;
      else if (seq < m.highestSeq) m.missing = Math.max(0, m.missing - 1); // late, not lost
      if (seq > m.highestSeq) m.highestSeq = seq;
      m.lastSeen = receivedAt;
      if (statusOf(m) !== before) dirty = true;
    },
    heartbeat(id, receivedAt) {
      const m = members.get(id);
      if (!m) return;
      m.lastHeartbeat = Math.max(m.lastHeartbeat ?? 0, receivedAt);
    },
    setQuarantined(id, q) {
      const m = members.get(id);
      if (m && m.quarantined !== q) {
        m.quarantined = q;
        dirty = true;
      }
    },
    tick,
    graph: () => current,
  };
}
