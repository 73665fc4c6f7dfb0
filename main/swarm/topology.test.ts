import { describe, expect, it } from 'vitest';
import { createTopology } from './topology';

function setup(n: number, zonesOf: (i: number) => string[] = (i) => [`Z${i % 3}`], rep: Record<string, number> = {}) {
  let clock = 0;
  const t = createTopology({ now: () => clock, heartbeatIntervalMs: 1_000, missedHeartbeats: 3, reputation: (id) => rep[id] ?? 0.5 });
  const ids = Array.from({ length: n }, (_, i) => `C${String(i).padStart(2, '0')}`);
  ids.forEach((id, i) => t.join(id, zonesOf(i)));
  const beat = (except: string[] = []) => {
    for (const id of ids) if (!except.includes(id)) t.heartbeat(id, clock);
  };
  return { t, ids, beat, at: (ms: number) => (clock = ms) };
}

describe('topology', () => {
  it('is a full mesh up to five cameras', () => {
    const { t } = setup(5);
    const g = t.tick().graph;
    expect(g.mode).toBe('mesh');
    expect(g.edges).toHaveLength(10);
    expect(g.clusters).toEqual([]);
  });

  it('above five: one cluster per zone, the most reputable healthy member heads it, heads form a backbone', () => {
    const { t } = setup(9, undefined, { C03: 0.9 });
    const g = t.tick().graph;
    expect(g.mode).toBe('clustered');
    expect(g.clusters.map((c) => c.zone)).toEqual(['Z0', 'Z1', 'Z2']);
    expect(g.clusters[0]!.head).toBe('C03');
    expect(g.edges.filter((e) => e.kind === 'backbone')).toHaveLength(3);
    expect(g.edges.filter((e) => e.kind === 'member')).toHaveLength(6);
    expect(g.nodes.find((nd) => nd.id === 'C03')!.head).toBe(true);
  });

  it('a head that stops sending heartbeats is replaced within one heartbeat timeout', () => {
    const { t, beat, at } = setup(9, undefined, { C03: 0.9 });
    t.tick();
    let when: number | undefined;
    for (let ms = 250; ms <= 6_000; ms += 250) {
      at(ms);
      beat(['C03']);
      const c = t.tick();
      if (c.failed.includes('C03')) {
        when = ms;
        expect(c.changed).toBe(true);
        expect(c.graph.clusters[0]!.head).not.toBe('C03');
        expect(c.graph.nodes.find((n) => n.id === 'C03')!.status).toBe('down');
        break;
      }
    }
    expect(when).toBeGreaterThan(3_000); // not before the timeout
    expect(when! - 3_000).toBeLessThanOrEqual(250); // and at the first tick after it
  });

  it('falls back to a mesh when quarantines leave five or fewer', () => {
    const { t, ids } = setup(6);
    expect(t.tick().graph.mode).toBe('clustered');
    t.setQuarantined(ids[0]!, true);
    const g = t.tick().graph;
    expect(g.mode).toBe('mesh');
    expect(g.nodes.find((n) => n.id === ids[0])!.status).toBe('quarantined');
    expect(g.edges.some((e) => e.a === ids[0] || e.b === ids[0])).toBe(false);
  });

  it('link health: latency from sent vs received, loss from sequence gaps', () => {
    const { t } = setup(2);
    for (const seq of [1, 2, 5, 6]) t.observe('C00', seq, 1_000, 1_040);
    const node = t.tick().graph.nodes.find((n) => n.id === 'C00')!;
    expect(node.latencyMs).toBeCloseTo(40);
    expect(node.loss).toBeGreaterThan(0.3); // 2 missing of 6
    expect(node.status).toBe('degraded');
  });
});
