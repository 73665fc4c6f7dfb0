import { describe, expect, it } from 'vitest';
import type { SwarmGraph } from '../../../../preload/contract';
import { coverageLines, fitView, GraphLayout, hitTest, syntheticGraph } from './graph';

describe('syntheticGraph', () => {
  it('follows the coordinator rule: a mesh up to 5 cameras, clusters with one head each above', () => {
    const mesh = syntheticGraph(5, 3);
    expect(mesh.mode).toBe('mesh');
    expect(mesh.edges).toHaveLength(10); // every pair
    const big = syntheticGraph(500, 3);
    expect(big.mode).toBe('clustered');
    expect(big.nodes).toHaveLength(500);
    expect(big.clusters.every((c) => c.members.includes(c.head))).toBe(true);
    expect(big.nodes.filter((n) => n.head)).toHaveLength(big.clusters.length);
    const h = big.heads.length;
    expect(big.edges.filter((e) => e.kind === 'backbone')).toHaveLength((h * (h - 1)) / 2);
    expect(syntheticGraph(500, 3)).toEqual(big); // deterministic from its seed
  });
});

describe('GraphLayout', () => {
  it('keeps positions across status updates and re-heats only when the structure changes', () => {
    const layout = new GraphLayout();
    const g = syntheticGraph(60, 1, 1);
    expect(layout.update(g)).toBe(true);
    for (let i = 0; i < 400 && layout.step(50); i++);
    expect(layout.step()).toBe(false); // settled
    const before = new Map([...layout.nodes].map(([id, n]) => [id, [n.x, n.y]]));
    // Same version, other statuses: not structural, nothing moves.
    const statusOnly = { ...g, nodes: g.nodes.map((n) => ({ ...n, status: 'degraded' as const })) };
    expect(layout.update(statusOnly)).toBe(false);
    expect(layout.step()).toBe(false);
    for (const [id, n] of layout.nodes) expect([n.x, n.y]).toEqual(before.get(id));
    expect([...layout.nodes.values()].every((n) => n.data.status === 'degraded')).toBe(true);
    // A re-form (new version) keeps existing cameras where they were and starts a newcomer near its head.
    const next = syntheticGraph(61, 1, 2);
    expect(layout.update(next)).toBe(true);
    const kept = [...before.keys()].filter((id) => layout.nodes.has(id));
    for (const id of kept) expect([layout.nodes.get(id)!.x, layout.nodes.get(id)!.y]).toEqual(before.get(id));
    expect(layout.nodes.size).toBe(61);
  });

  it('fits the layout into the canvas and finds the node under the pointer', () => {
    const layout = new GraphLayout();
    layout.update(syntheticGraph(20, 9, 1));
    for (let i = 0; i < 300 && layout.step(50); i++);
    const view = fitView(undefined, layout, 800, 600);
    for (const n of layout.nodes.values()) {
      const x = view.ox + n.x! * view.scale;
      const y = view.oy + n.y! * view.scale;
      expect(x).toBeGreaterThanOrEqual(27);
      expect(x).toBeLessThanOrEqual(773);
      expect(y).toBeGreaterThanOrEqual(27);
      expect(y).toBeLessThanOrEqual(573);
    }
    const target = [...layout.nodes.values()][7]!;
    expect(hitTest(layout, view, view.ox + target.x! * view.scale + 2, view.oy + target.y! * view.scale - 1)).toBe(target.id);
    expect(hitTest(layout, view, -100, -100)).toBeUndefined();
  });
});

describe('coverageLines (every drawn line means what the legend says)', () => {
  const node = (id: string, zones: string[], cluster: string | null = null, head = false): SwarmGraph['nodes'][number] => ({ id, zones, status: 'healthy', cluster, head, reputation: 1, latencyMs: 5, loss: 0, lastSeen: 0 });

  it('one group: a line only between cameras that cover a common zone, not every pair', () => {
    const g: SwarmGraph = { mode: 'mesh', nodes: [node('a', ['z1']), node('b', ['z1', 'z2']), node('c', ['z2']), node('d', ['z3'])], edges: [], clusters: [], heads: [], version: 1, formedAt: 0 };
    // The coordinator's mesh joins all six pairs; three of them share no zone.
    g.edges = [['a', 'b'], ['a', 'c'], ['a', 'd'], ['b', 'c'], ['b', 'd'], ['c', 'd']].map(([a, b]) => ({ a: a!, b: b!, kind: 'mesh' as const }));
    expect(coverageLines(g)).toEqual([
      { a: 'a', b: 'b', kind: 'overlap' },
      { a: 'b', b: 'c', kind: 'overlap' },
    ]);
  });

  it('zone groups: members to their reference camera, and reference cameras only where a camera covers both groups\' zones', () => {
    const g: SwarmGraph = {
      mode: 'clustered',
      nodes: [node('h1', ['z1'], 'cluster:z1', true), node('m1', ['z1', 'z2'], 'cluster:z1'), node('h2', ['z2'], 'cluster:z2', true), node('m2', ['z2'], 'cluster:z2'), node('h3', ['z3'], 'cluster:z3', true), node('m3', ['z3'], 'cluster:z3')],
      edges: [],
      clusters: [
        { id: 'cluster:z1', zone: 'z1', head: 'h1', members: ['h1', 'm1'] },
        { id: 'cluster:z2', zone: 'z2', head: 'h2', members: ['h2', 'm2'] },
        { id: 'cluster:z3', zone: 'z3', head: 'h3', members: ['h3', 'm3'] },
      ],
      heads: ['h1', 'h2', 'h3'],
      version: 1,
      formedAt: 0,
    };
    const lines = coverageLines(g);
    expect(lines.filter((l) => l.kind === 'group')).toEqual([
      { a: 'm1', b: 'h1', kind: 'group' },
      { a: 'm2', b: 'h2', kind: 'group' },
      { a: 'm3', b: 'h3', kind: 'group' },
    ]);
    // m1 (group z1) also sees z2: h1–h2. Nothing ties z3 to the others: no line to h3.
    expect(lines.filter((l) => l.kind === 'overlap')).toEqual([{ a: 'h1', b: 'h2', kind: 'overlap' }]);
  });

  it('at 500 cameras draws no reference-camera line that no shared camera explains', () => {
    const g = syntheticGraph(500, 3);
    const lines = coverageLines(g);
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    const cluster = new Map(g.clusters.map((c) => [c.head, c]));
    expect(lines.filter((l) => l.kind === 'group')).toHaveLength(500 - g.clusters.length);
    const overlaps = lines.filter((l) => l.kind === 'overlap');
    expect(overlaps.length).toBeGreaterThan(0);
    expect(overlaps.length).toBeLessThan(g.edges.filter((e) => e.kind === 'backbone').length / 10);
    for (const l of overlaps) {
      const [ca, cb] = [cluster.get(l.a)!, cluster.get(l.b)!];
      const explained = ca.members.some((m) => byId.get(m)!.zones.includes(cb.zone)) || cb.members.some((m) => byId.get(m)!.zones.includes(ca.zone));
      expect(explained).toBe(true);
    }
  });
});

describe('syntheticGraph feeds', () => {
  it('changes health without re-forming: same structure seed, same groups and heads', () => {
    const a = syntheticGraph(200, 4, 4, 10);
    const b = syntheticGraph(200, 4, 4, 11);
    expect(b.clusters).toEqual(a.clusters);
    expect(b.nodes.filter((n) => n.head).map((n) => n.id)).toEqual(a.heads);
    expect(b.nodes.map((n) => n.status)).not.toEqual(a.nodes.map((n) => n.status));
    expect(syntheticGraph(200, 5, 5, 11).clusters).not.toEqual(a.clusters);
  });
});

describe('GraphLayout lines', () => {
  it('re-forms its lines when the groups change even if a feed kept the version', () => {
    const layout = new GraphLayout();
    layout.update(syntheticGraph(120, 1, 1));
    const before = layout.links.map((l) => `${(l.source as { id: string }).id}-${(l.target as { id: string }).id}`);
    expect(layout.update(syntheticGraph(120, 2, 1))).toBe(true);
    const after = layout.links.map((l) => `${(l.source as { id: string }).id}-${(l.target as { id: string }).id}`);
    expect(after).not.toEqual(before);
    // Every group line ends at a node flagged as its group's reference camera: rings and lines agree.
    for (const l of layout.links.filter((x) => x.kind === 'group')) expect((l.target as { data: { head: boolean } }).data.head).toBe(true);
  });
});
