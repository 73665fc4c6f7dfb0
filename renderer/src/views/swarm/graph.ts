// The Swarm graph's layout and drawing, outside React.
//
// Why canvas + an incremental d3-force layout:
// - 500 cameras as SVG elements re-rendered by React would mean 500 nodes + ~1,000 edges diffed on
//   every status update; one <canvas> redrawn from typed state costs a few batched paths per frame
//   (edges grouped by kind, nodes grouped by colour), so a redraw stays well under a frame budget.
// - The layout is a d3-force simulation that we step ourselves (simulation.stop() + tick()), a few
//   ticks per animation frame and only while it is still moving (alpha above its floor). It is
//   re-heated gently only when the *structure* changes (topology version), never for a status or
//   link-health update, and existing cameras keep their positions; a new camera starts next to its
//   cluster head. So positions are stable across updates and the main thread is never blocked by a
//   whole layout run (no worker needed: 500 nodes with Barnes–Hut charge tick in ~1–3 ms).
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY, type Simulation, type SimulationLinkDatum, type SimulationNodeDatum } from 'd3-force';
import type { SwarmGraph } from '../../../../preload/contract';
import { placeGraphLabels, type GraphLabel } from './graphLabels';

type GNode = SwarmGraph['nodes'][number];

/**
 * What a drawn line means; the legend states each one. The coordinator's edge list also joins
 * every pair of reference cameras ("backbone") and, in a small fleet, every pair of cameras
 * ("mesh") whatever they cover: no message travels along those, so they are not drawn. Lines are
 * derived from what the view is about, coverage:
 * - `group`: a camera and the reference camera of the zone group it belongs to;
 * - `overlap`: two cameras that cover a common zone (small fleet, one group), or two reference
 *   cameras whose groups' zones are covered by a common camera (a member of one also sees the
 *   other's zone).
 */
export type LineKind = 'group' | 'overlap';
export interface Line {
  a: string;
  b: string;
  kind: LineKind;
}

/** The lines the Swarm graph draws for a topology (see LineKind), each pair once. */
export function coverageLines(g: SwarmGraph): Line[] {
  const lines: Line[] = [];
  const ids = new Set(g.nodes.map((n) => n.id));
  if (g.mode === 'mesh' || g.clusters.length === 0) {
    for (let i = 0; i < g.nodes.length; i++) {
      const zi = new Set(g.nodes[i]!.zones);
      for (let j = i + 1; j < g.nodes.length; j++) if (g.nodes[j]!.zones.some((z) => zi.has(z))) lines.push({ a: g.nodes[i]!.id, b: g.nodes[j]!.id, kind: 'overlap' });
    }
    return lines;
  }
  const zoneNodes = new Map(g.nodes.map((n) => [n.id, n.zones]));
  const headOfZone = new Map(g.clusters.map((c) => [c.zone, c.head]));
  const pairs = new Set<string>();
  for (const c of g.clusters) {
    if (!ids.has(c.head)) continue;
    for (const m of c.members) {
      if (m !== c.head && ids.has(m)) lines.push({ a: m, b: c.head, kind: 'group' });
      // A member that also covers another group's zone ties the two groups' coverage together.
      for (const z of zoneNodes.get(m) ?? []) {
        const other = headOfZone.get(z);
        if (!other || other === c.head || !ids.has(other)) continue;
        const key = c.head < other ? `${c.head}\n${other}` : `${other}\n${c.head}`;
        if (pairs.has(key)) continue;
        pairs.add(key);
        lines.push({ a: c.head, b: other, kind: 'overlap' });
      }
    }
  }
  return lines;
}

export interface LayoutNode extends SimulationNodeDatum {
  id: string;
  data: GNode;
}
interface LayoutLink extends SimulationLinkDatum<LayoutNode> {
  kind: LineKind;
}

export interface Palette {
  healthy: string;
  degraded: string;
  down: string;
  quarantined: string;
  group: string;
  overlap: string;
  text: string;
  selected: string;
  bg: string;
}

export function readPalette(el: Element): Palette {
  const cs = getComputedStyle(el);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  return {
    healthy: v('--ok', '#3fb950'),
    degraded: v('--warn', '#d29922'),
    down: v('--text-muted', '#8b93a3'),
    quarantined: v('--danger', '#f85149'),
    group: v('--text-muted', '#8b93a3'),
    overlap: v('--accent', '#4c9dff'),
    text: v('--text', '#d9dee7'),
    selected: v('--focus', '#79b8ff'),
    bg: v('--bg-raised', '#161920'),
  };
}

const TICKS_PER_FRAME = 3;

export class GraphLayout {
  readonly nodes = new Map<string, LayoutNode>();
  links: LayoutLink[] = [];
  graph: SwarmGraph | undefined;
  private readonly sim: Simulation<LayoutNode, LayoutLink>;
  private version = -1;
  private heads = '';

  constructor() {
    this.sim = forceSimulation<LayoutNode, LayoutLink>([])
      .alphaDecay(0.03)
      .velocityDecay(0.35)
      .force('charge', forceManyBody<LayoutNode>().strength(-28).theta(0.9).distanceMax(260))
      .force('x', forceX<LayoutNode>(0).strength(0.04))
      .force('y', forceY<LayoutNode>(0).strength(0.04))
      .force('collide', forceCollide<LayoutNode>((n) => (n.data.head ? 9 : 6)).iterations(1))
      .stop();
  }

  /** Applies a new graph. Returns true when the structure changed (the layout re-heats). */
  update(g: SwarmGraph): boolean {
    this.graph = g;
    // Lines are drawn from the groups: a feed that moved a head without a new version still re-forms them.
    const heads = g.clusters.map((c) => `${c.head}:${c.members.length}`).join(',');
    const structural = g.version !== this.version || heads !== this.heads || g.nodes.length !== this.nodes.size || g.nodes.some((n) => !this.nodes.has(n.id));
    const seen = new Set<string>();
    const fresh: string[] = [];
    const headOf = new Map<string, string>();
    for (const c of g.clusters) for (const m of c.members) headOf.set(m, c.head);
    const n = g.nodes.length;
    g.nodes.forEach((d, i) => {
      seen.add(d.id);
      const existing = this.nodes.get(d.id);
      if (existing) {
        existing.data = d; // status / link health only: the position stays
        return;
      }
      fresh.push(d.id);
      const anchor = this.nodes.get(headOf.get(d.id) ?? '');
      const r = 40 + Math.sqrt(n) * 14;
      const a = (i / Math.max(1, n)) * Math.PI * 2;
      // Deterministic start: next to its head when it has one, else on a ring.
      const x = anchor?.x !== undefined ? anchor.x + Math.cos(a) * 18 : Math.cos(a) * r;
      const y = anchor?.y !== undefined ? anchor.y + Math.sin(a) * 18 : Math.sin(a) * r;
      this.nodes.set(d.id, { id: d.id, data: d, x, y });
    });
    for (const id of [...this.nodes.keys()]) if (!seen.has(id)) this.nodes.delete(id);
    if (!structural) return false;
    this.version = g.version;
    this.heads = heads;
    // The layout pulls along the lines it draws, so what is close on screen is what the lines say.
    this.links = coverageLines(g).map((l) => ({ source: l.a, target: l.b, kind: l.kind }));
    this.sim.nodes([...this.nodes.values()]);
    this.sim.force(
      'link',
      forceLink<LayoutNode, LayoutLink>(this.links)
        .id((d) => d.id)
        .distance((l) => (l.kind === 'group' ? 26 : g.mode === 'mesh' ? 90 : 120))
        .strength((l) => (l.kind === 'group' ? 0.7 : g.mode === 'mesh' ? 0.4 : 0.25)),
    );
    // A re-form that keeps most cameras needs only a nudge; a new fleet needs a full settle.
    const kept = g.nodes.length ? (g.nodes.length - fresh.length) / g.nodes.length : 0;
    this.sim.alpha(Math.max(this.sim.alpha(), kept > 0.8 ? 0.15 : 0.6));
    return true;
  }

  /**
   * Layout steps within a time budget (at least one, at most TICKS_PER_FRAME), so a re-forming
   * layout never takes the whole frame; false once it has settled (nothing to redraw for it).
   */
  step(budgetMs = 3): boolean {
    if (this.sim.alpha() < this.sim.alphaMin()) return false;
    const t0 = performance.now();
    for (let i = 0; i < TICKS_PER_FRAME; i++) {
      this.sim.tick();
      if (performance.now() - t0 > budgetMs) break;
    }
    return true;
  }

  bounds(): { minX: number; minY: number; maxX: number; maxY: number } {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const n of this.nodes.values()) {
      minX = Math.min(minX, n.x ?? 0);
      maxX = Math.max(maxX, n.x ?? 0);
      minY = Math.min(minY, n.y ?? 0);
      maxY = Math.max(maxY, n.y ?? 0);
    }
    return Number.isFinite(minX) ? { minX, minY, maxX, maxY } : { minX: -1, minY: -1, maxX: 1, maxY: 1 };
  }
}

export interface View {
  scale: number;
  ox: number;
  oy: number;
}

/** Fits the layout into the canvas, easing towards the target so the picture does not jump. */
export function fitView(prev: View | undefined, layout: GraphLayout, w: number, h: number, padX = 28): View {
  const b = layout.bounds();
  const pad = 28;
  const scale = Math.min(3, (w - 2 * padX) / Math.max(1, b.maxX - b.minX), (h - 2 * pad) / Math.max(1, b.maxY - b.minY));
  const target = { scale, ox: w / 2 - ((b.minX + b.maxX) / 2) * scale, oy: h / 2 - ((b.minY + b.maxY) / 2) * scale };
  if (!prev) return target;
  const k = 0.2;
  return { scale: prev.scale + (target.scale - prev.scale) * k, ox: prev.ox + (target.ox - prev.ox) * k, oy: prev.oy + (target.oy - prev.oy) * k };
}

/**
 * Draws the graph; returns the camera names it wrote and where (none above 40 cameras), so the view
 * can expose them (data-labels) for a test to check. `labelsH` is the height labels may use (the
 * legend covers the rest).
 */
export function draw(ctx: CanvasRenderingContext2D, layout: GraphLayout, view: View, p: Palette, w: number, h: number, hover?: string, selected?: string, labelOf: (id: string) => string = (id) => id.slice(-4), labelsH = h): GraphLabel[] {
  ctx.clearRect(0, 0, w, h);
  const { scale, ox, oy } = view;
  const X = (n: LayoutNode): number => ox + (n.x ?? 0) * scale;
  const Y = (n: LayoutNode): number => oy + (n.y ?? 0) * scale;
  // Lines: one path per kind; overlaps dashed, so the two read apart without colour too.
  for (const kind of ['group', 'overlap'] as const) {
    ctx.beginPath();
    for (const l of layout.links) {
      if (l.kind !== kind) continue;
      const a = l.source as LayoutNode;
      const b = l.target as LayoutNode;
      ctx.moveTo(X(a), Y(a));
      ctx.lineTo(X(b), Y(b));
    }
    ctx.strokeStyle = p[kind];
    ctx.lineWidth = kind === 'overlap' ? 1.5 : 1;
    ctx.setLineDash(kind === 'overlap' ? [5, 4] : []);
    ctx.globalAlpha = kind === 'group' ? 0.55 : 0.85;
    ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.globalAlpha = 1;
  // Nodes: one path per status colour; heads are larger.
  const r = Math.max(2.5, Math.min(7, 5 * Math.sqrt(scale)));
  for (const status of ['healthy', 'degraded', 'down', 'quarantined'] as const) {
    ctx.beginPath();
    for (const n of layout.nodes.values()) {
      if (n.data.status !== status) continue;
      const rr = n.data.head ? r * 1.7 : r;
      ctx.moveTo(X(n) + rr, Y(n));
      ctx.arc(X(n), Y(n), rr, 0, Math.PI * 2);
    }
    ctx.fillStyle = p[status];
    ctx.fill();
  }
  // Heads get a ring; quarantined cameras a ring and a cross, so they stand out without colour too.
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (const n of layout.nodes.values()) {
    if (!n.data.head) continue;
    ctx.moveTo(X(n) + r * 1.7 + 2.5, Y(n));
    ctx.arc(X(n), Y(n), r * 1.7 + 2.5, 0, Math.PI * 2);
  }
  ctx.strokeStyle = p.text;
  ctx.stroke();
  ctx.beginPath();
  for (const n of layout.nodes.values()) {
    if (n.data.status !== 'quarantined') continue;
    const q = r + 5;
    ctx.moveTo(X(n) + q, Y(n));
    ctx.arc(X(n), Y(n), q, 0, Math.PI * 2);
    ctx.moveTo(X(n) - q, Y(n) - q);
    ctx.lineTo(X(n) + q, Y(n) + q);
    ctx.moveTo(X(n) + q, Y(n) - q);
    ctx.lineTo(X(n) - q, Y(n) + q);
  }
  ctx.strokeStyle = p.quarantined;
  ctx.lineWidth = 2;
  ctx.stroke();
  for (const id of [hover, selected]) {
    const n = id ? layout.nodes.get(id) : undefined;
    if (!n) continue;
    ctx.beginPath();
    ctx.arc(X(n), Y(n), r + 8, 0, Math.PI * 2);
    ctx.strokeStyle = p.selected;
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  // Names only for a fleet small enough to read them; placed so none covers another (graphLabels).
  if (layout.nodes.size > 40) return [];
  ctx.font = '11px system-ui, sans-serif';
  const labels = placeGraphLabels(
    [...layout.nodes.values()].map((n) => {
      const text = labelOf(n.id);
      const ring = n.data.status === 'quarantined' ? r + 5 : n.data.head ? r * 1.7 + 2.5 : r;
      return { id: n.id, text, x: X(n), y: Y(n), r: ring, w: Math.ceil(ctx.measureText(text).width) + 2, priority: n.id === selected || n.id === hover ? 2 : n.data.head ? 1 : 0 };
    }),
    { w, h: labelsH },
  );
  ctx.fillStyle = p.text;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const l of labels) ctx.fillText(l.text, l.x + 1, l.y + l.h / 2);
  return labels;
}

export function hitTest(layout: GraphLayout, view: View, x: number, y: number, radius = 10): string | undefined {
  let best: string | undefined;
  let bestD = radius * radius;
  for (const n of layout.nodes.values()) {
    const dx = view.ox + (n.x ?? 0) * view.scale - x;
    const dy = view.oy + (n.y ?? 0) * view.scale - y;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = n.id;
    }
  }
  return best;
}

/**
 * A synthetic fleet for the graph benchmark and the empty-state preview: `n` cameras in zones of
 * 5–12, clustered with heads above 5 cameras (the coordinator's rule), deterministic from a seed.
 * The structure (groups, heads, zones) comes from `seed`; status and link health from
 * `healthSeed`, so a feed can change health without re-forming, as the coordinator's does (its
 * version changes exactly when the structure does).
 */
export function syntheticGraph(n: number, seed: number, version = 1, healthSeed = seed): SwarmGraph {
  const xorshift = (s0: number): (() => number) => {
    let s = s0 >>> 0 || 1;
    return () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296;
    };
  };
  const structure = xorshift(seed);
  const health = xorshift(healthSeed ^ 0x5bd1e995);
  const ids = Array.from({ length: n }, (_, i) => `B8A44F${(i + 1).toString(16).toUpperCase().padStart(6, '0')}`);
  const statusOf = (): GNode['status'] => {
    const r = health();
    return r < 0.9 ? 'healthy' : r < 0.96 ? 'degraded' : r < 0.99 ? 'down' : 'quarantined';
  };
  if (n <= 5) {
    const edges: SwarmGraph['edges'] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.push({ a: ids[i]!, b: ids[j]!, kind: 'mesh' });
    return { mode: 'mesh', nodes: ids.map((id) => ({ id, zones: ['z1'], status: statusOf(), cluster: null, head: false, reputation: 0.5 + health() / 2, latencyMs: 5 + health() * 40, loss: health() * 0.05, lastSeen: 0 })), edges, clusters: [], heads: [], version, formedAt: 0 };
  }
  const clusters: SwarmGraph['clusters'] = [];
  const nodes: SwarmGraph['nodes'] = [];
  const edges: SwarmGraph['edges'] = [];
  let i = 0;
  while (i < n) {
    const size = Math.min(n - i, 5 + Math.floor(structure() * 8));
    const members = ids.slice(i, i + size);
    const zone = `zone-${clusters.length + 1}`;
    const head = members[0]!;
    clusters.push({ id: `c${clusters.length + 1}`, zone, head, members });
    for (const m of members) {
      // About one camera in six also sees the next zone (overlapping coverage, as placed cameras do).
      const zones = structure() < 0.16 && i + size < n ? [zone, `zone-${clusters.length + 1}`] : [zone];
      nodes.push({ id: m, zones, status: m === head ? 'healthy' : statusOf(), cluster: `c${clusters.length}`, head: m === head, reputation: 0.5 + health() / 2, latencyMs: 5 + health() * 40, loss: health() * 0.05, lastSeen: 0 });
      if (m !== head) edges.push({ a: head, b: m, kind: 'member' });
    }
    i += size;
  }
  const heads = clusters.map((c) => c.head);
  for (let a = 0; a < heads.length; a++) for (let b = a + 1; b < heads.length; b++) edges.push({ a: heads[a]!, b: heads[b]!, kind: 'backbone' });
  return { mode: 'clustered', nodes, edges, clusters, heads, version, formedAt: 0 };
}
