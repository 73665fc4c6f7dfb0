import { useEffect, useRef, useState } from 'react';
import type { SwarmGraph } from '../../../../preload/contract';
import { cameraLabel, type CameraNames } from '../../stores/cameraNamesCore';
import { draw, fitView, GraphLayout, hitTest, readPalette, type Palette, type View } from './graph';

type GNode = SwarmGraph['nodes'][number];

export interface GraphBenchResult {
  /** Mean main-thread milliseconds per frame spent in the layout step and in drawing. */
  stepMs: number;
  drawMs: number;
  frames: number;
  seconds: number;
  fps: number;
  nodes: number;
}

declare global {
  interface Window {
    __swarmGraphBench?: GraphBenchResult;
  }
}

const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;

/**
 * The live topology on one <canvas> (see graph.ts for why). React renders only the frame around it
 * and the hover card; the rAF loop redraws when the layout moves or the data changed.
 * `continuous` redraws every frame (the benchmark measures redraws per second that way).
 */
export function GraphCanvas({
  graph,
  selected,
  onSelect,
  continuous = false,
  names = new Map(),
}: {
  graph: SwarmGraph | undefined;
  selected?: string;
  onSelect: (id: string | undefined) => void;
  continuous?: boolean;
  names?: CameraNames;
}) {
  const namesRef = useRef(names);
  namesRef.current = names;
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const legend = useRef<HTMLUListElement>(null);
  const layout = useRef(new GraphLayout());
  const dirty = useRef(true);
  const view = useRef<View | undefined>(undefined);
  const hoverRef = useRef<string | undefined>(undefined);
  const selectedRef = useRef(selected);
  const [hover, setHover] = useState<{ node: GNode; x: number; y: number }>();

  useEffect(() => {
    if (graph) layout.current.update(graph);
    dirty.current = true;
  }, [graph]);
  useEffect(() => {
    selectedRef.current = selected;
    dirty.current = true;
  }, [selected]);
  useEffect(() => {
    dirty.current = true;
  }, [names]);

  // The keyboard path: arrows move the selection through the cameras in name order, Escape clears it.
  const onKey = (e: React.KeyboardEvent): void => {
    const ids = (graph?.nodes ?? []).map((n) => n.id).sort((a, b) => cameraLabel(a, names).localeCompare(cameraLabel(b, names)));
    if (!ids.length) return;
    const i = selected ? ids.indexOf(selected) : -1;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') onSelect(ids[(i + 1) % ids.length]);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') onSelect(ids[(i - 1 + ids.length) % ids.length]);
    else if (e.key === 'Home') onSelect(ids[0]);
    else if (e.key === 'End') onSelect(ids[ids.length - 1]);
    else if (e.key === 'Escape') onSelect(undefined);
    else return;
    e.preventDefault();
  };

  useEffect(() => {
    const c = canvas.current;
    const w = wrap.current;
    if (!c || !w) return;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    let palette: Palette = readPalette(c);
    let size = { w: 0, h: 0 };
    const resize = (): void => {
      const r = w.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      size = { w: Math.max(1, Math.floor(r.width)), h: Math.max(1, Math.floor(r.height)) };
      c.width = size.w * dpr;
      c.height = size.h * dpr;
      c.style.width = `${size.w}px`;
      c.style.height = `${size.h}px`;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      palette = readPalette(c);
      dirty.current = true;
    };
    resize();
    const ro = new ResizeObserver(resize);
    ro.observe(w);
    // The theme can switch while the view is open.
    const mo = new MutationObserver(() => {
      palette = readPalette(c);
      dirty.current = true;
    });
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });

    let frames = 0;
    let stepMs = 0;
    let drawMs = 0;
    let t0 = performance.now();
    let raf = 0;
    const loop = (): void => {
      raf = requestAnimationFrame(loop);
      const ts = performance.now();
      const moved = layout.current.step();
      if (!moved && !dirty.current && !continuous) return;
      const td = performance.now();
      dirty.current = false;
      const prev = view.current;
      // The legend sits over the bottom of the canvas: fit the graph in the space above it. Small
      // fleets are named on the canvas: leave half a name's width at the sides for the names of the
      // outermost cameras.
      const above = Math.max(size.h / 2, size.h - (legend.current?.offsetHeight ?? 0) - 8);
      view.current = fitView(prev, layout.current, size.w, above, layout.current.nodes.size <= 40 ? 70 : 28);
      // Keep easing the fit until it has converged, so the picture never stops half-way.
      if (prev && (Math.abs(prev.ox - view.current.ox) > 0.3 || Math.abs(prev.oy - view.current.oy) > 0.3 || Math.abs(prev.scale - view.current.scale) > 1e-3)) dirty.current = true;
      const labels = draw(ctx, layout.current, view.current, palette, size.w, size.h, hoverRef.current, selectedRef.current, (id) => cameraLabel(id, namesRef.current), above);
      // Where the names went, for tests and tools (the canvas itself has no text to inspect); the
      // attribute is written only when it changes. Floored: rounding could make boxes that touch overlap by a pixel.
      const json = JSON.stringify(labels.map((l) => ({ id: l.id, text: l.text, x: Math.floor(l.x), y: Math.floor(l.y), w: Math.floor(l.w), h: Math.floor(l.h) })));
      if (c.dataset.labels !== json) c.dataset.labels = json;
      if (continuous) {
        frames++;
        const t = performance.now();
        stepMs += td - ts;
        drawMs += t - td;
        if (t - t0 >= 10_000) {
          window.__swarmGraphBench = { frames, seconds: (t - t0) / 1000, fps: frames / ((t - t0) / 1000), nodes: layout.current.nodes.size, stepMs: stepMs / frames, drawMs: drawMs / frames };
          frames = 0;
          stepMs = 0;
          drawMs = 0;
          t0 = t;
        }
      }
    };
    raf = requestAnimationFrame(loop);
    return () => {
      cancelAnimationFrame(raf);
      ro.disconnect();
      mo.disconnect();
    };
  }, [continuous]);

  const pick = (e: React.MouseEvent): string | undefined => {
    const r = canvas.current!.getBoundingClientRect();
    return view.current ? hitTest(layout.current, view.current, e.clientX - r.left, e.clientY - r.top) : undefined;
  };

  const quarantined = graph?.nodes.filter((n) => n.status === 'quarantined').map((n) => n.id) ?? [];
  const summary = graph
    ? `Coverage and link health: ${graph.nodes.length} cameras, ${graph.mode === 'mesh' ? 'one group' : `${graph.clusters.length} coverage groups`}, ${quarantined.length} quarantined`
    : 'No topology yet';

  return (
    <div className="swarm-graph" ref={wrap}>
      <canvas
        ref={canvas}
        role="img"
        tabIndex={0}
        aria-label={`Swarm topology. ${summary}. Arrow keys choose a camera${selected ? `; chosen: ${cameraLabel(selected, names)}` : ''}.`}
        aria-keyshortcuts="ArrowLeft ArrowRight Home End Escape"
        onKeyDown={onKey}
        data-mode={graph?.mode ?? 'none'}
        data-quarantined={quarantined.join(' ')}
        onMouseMove={(e) => {
          const id = pick(e);
          if (id !== hoverRef.current) {
            hoverRef.current = id;
            dirty.current = true;
          }
          const node = id ? layout.current.nodes.get(id)?.data : undefined;
          const r = canvas.current!.getBoundingClientRect();
          setHover(node ? { node, x: e.clientX - r.left, y: e.clientY - r.top } : undefined);
        }}
        onMouseLeave={() => {
          hoverRef.current = undefined;
          dirty.current = true;
          setHover(undefined);
        }}
        onClick={(e) => onSelect(pick(e))}
      />
      {hover && (
        <div className="swarm-hover" style={{ left: hover.x + 14, top: hover.y + 14 }} role="tooltip">
          <strong>{cameraLabel(hover.node.id, names)}</strong> <span className="mono muted">{hover.node.id}</span> <span className={`swarm-status st-${hover.node.status}`}>{hover.node.status}</span>
          <div>
            {hover.node.head ? 'reference camera · ' : ''}
            {hover.node.zones.join(', ') || 'no zone'}
          </div>
          <div>
            latency {hover.node.latencyMs === null ? '—' : `${hover.node.latencyMs.toFixed(0)} ms`} · loss {pct(hover.node.loss)} · reputation {hover.node.reputation.toFixed(2)}
          </div>
        </div>
      )}
      <ul className="swarm-legend" aria-label="Legend" ref={legend}>
        <li><span className="dot st-healthy" /> healthy</li>
        <li><span className="dot st-degraded" /> degraded</li>
        <li><span className="dot st-down" /> down</li>
        <li><span className="dot st-quarantined" /> quarantined ✕</li>
        {graph?.mode === 'clustered' && (
          <>
            <li><span className="ring" /> reference camera of a zone group</li>
            <li><span className="line line-group" /> in that camera's zone group</li>
            <li><span className="line line-overlap" /> groups whose zones a common camera covers</li>
          </>
        )}
        {graph?.mode === 'mesh' && (
          <li><span className="line line-overlap" /> both cover a common zone</li>
        )}
      </ul>
    </div>
  );
}
