import { describe, expect, it } from 'vitest';
import { fitView, GraphLayout, hitTest, syntheticGraph } from './graph';

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
