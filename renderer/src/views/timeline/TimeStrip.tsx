// The scrubbable strip: one lane per camera with its tracks, a lane of confirmed events and one of
// intervention points; drag, or use the arrow keys, to look at a moment.
import { useMemo, useRef, type KeyboardEvent, type PointerEvent } from 'react';
import { byCameraName, cameraLabel, type CameraNames } from '../../stores/cameraNamesCore';
import { clock } from './format';
import { laneSegments, stripScale, type Snapshot } from './model';
import type { LoggedIntervention, SwarmEventLite } from './types';

export const WINDOWS = [1, 5, 10, 60, 360] as const;
const windowLabel = (m: number): string => (m < 60 ? `${m} min` : `${m / 60} h`);

export function TimeStrip(p: {
  snaps: Snapshot[];
  cameras: string[];
  names: CameraNames;
  /** Segments kept by the server (timeline.history), per camera, merged with the live ones. */
  history?: Map<string, { trackId: string; from: number; to: number }[]>;
  ivLog: LoggedIntervention[];
  events: SwarmEventLite[] | undefined;
  start: number;
  end: number;
  cursor: number | null;
  onCursor: (t: number | null) => void;
  windowMin: number;
  onWindow: (m: number) => void;
}) {
  const W = 1000;
  const LANE = 18;
  /** Room for a lane's name (19 monospace characters at 10 units), left of the bars. */
  const GUTTER = 122;
  const segs = useMemo(() => {
    const live = laneSegments(p.snaps);
    if (!p.history) return live;
    const merged = new Map(p.history);
    for (const [cam, list] of live) merged.set(cam, [...(merged.get(cam) ?? []), ...list]);
    return merged;
  }, [p.snaps, p.history]);
  const laneIds = useMemo(() => byCameraName(new Set([...p.cameras, ...segs.keys()]), p.names), [p.cameras, segs, p.names]);
  const lanes = [...(p.events ? ['Events'] : []), ...laneIds, 'Interventions'];
  const H = lanes.length * LANE + 18;
  const span = p.end - p.start;
  const scale = stripScale(p.start, p.end, W, GUTTER);
  const x = scale.x;
  const ref = useRef<SVGSVGElement>(null);
  const dragging = useRef(false);

  const setFromPointer = (e: PointerEvent<SVGSVGElement>): void => {
    const r = ref.current?.getBoundingClientRect();
    if (!r) return;
    const t = scale.toTime((e.clientX - r.left) / r.width);
    // The right edge follows live.
    p.onCursor(t >= p.end - span * 0.01 ? null : Math.max(p.start, t));
  };
  const onKey = (e: KeyboardEvent<SVGSVGElement>): void => {
    const step = e.shiftKey ? 10_000 : 1000;
    const cur = p.cursor ?? p.end;
    if (e.key === 'ArrowLeft') p.onCursor(Math.max(p.start, cur - step));
    else if (e.key === 'ArrowRight') p.onCursor(cur + step >= p.end ? null : cur + step);
    else if (e.key === 'Home') p.onCursor(p.start);
    else if (e.key === 'End') p.onCursor(null);
    else return;
    e.preventDefault();
  };
  const cx = x(p.cursor ?? p.end);
  const ticks = Array.from({ length: 6 }, (_, i) => p.start + (span * i) / 5);

  return (
    <div className="timeline-strip">
      <div className="timeline-strip-bar">
        <span className="muted">Last</span>
        {WINDOWS.map((m) => (
          <button key={m} type="button" className={m === p.windowMin ? 'active' : ''} aria-pressed={m === p.windowMin} onClick={() => p.onWindow(m)}>
            {windowLabel(m)}
          </button>
        ))}
        <button type="button" onClick={() => p.onCursor(null)} disabled={p.cursor === null} aria-label="Follow live">
          {p.cursor === null ? '● Live' : 'Back to live'}
        </button>
        <span className="muted">Drag or use ←/→ (Shift: 10 s), Home, End.</span>
      </div>
      <svg
        ref={ref}
        className="timeline-axis"
        viewBox={`0 0 ${W} ${H}`}
        preserveAspectRatio="none"
        role="slider"
        tabIndex={0}
        aria-label="Timeline position"
        aria-valuemin={Math.round(p.start)}
        aria-valuemax={Math.round(p.end)}
        aria-valuenow={Math.round(p.cursor ?? p.end)}
        aria-valuetext={p.cursor === null ? 'live' : clock(p.cursor)}
        onKeyDown={onKey}
        onPointerDown={(e) => {
          dragging.current = true;
          e.currentTarget.setPointerCapture(e.pointerId);
          setFromPointer(e);
        }}
        onPointerMove={(e) => dragging.current && setFromPointer(e)}
        onPointerUp={() => (dragging.current = false)}
      >
        {lanes.map((l, i) => {
          const name = l === 'Events' || l === 'Interventions' ? l : cameraLabel(l, p.names);
          return (
            <g key={l}>
              <rect x={0} y={i * LANE} width={W} height={LANE} className={i % 2 ? 'lane odd' : 'lane'} />
              <text x={4} y={i * LANE + 12} className="lane-label">
                {name.length > 19 ? `${name.slice(0, 18)}…` : name}
                <title>{name}</title>
              </text>
            </g>
          );
        })}
        {p.events?.map((e) => {
          const a = Math.max(GUTTER, x(e.startTs));
          const b = Math.min(W, x(e.closed ? e.endTs : p.end));
          return b > GUTTER && a < W ? <rect key={e.id} x={a} y={3} width={Math.max(2, b - a)} height={LANE - 6} className="seg event"><title>{`${e.cls} in ${e.zone}`}</title></rect> : null;
        })}
        {laneIds.map((cam, i) =>
          (segs.get(cam) ?? []).map((s) => {
            const a = Math.max(GUTTER, x(s.from));
            const b = Math.min(W, x(s.to));
            const row = i + (p.events ? 1 : 0);
            return b >= GUTTER && a <= W ? <rect key={`${cam}|${s.trackId}|${s.from}`} x={a} y={row * LANE + 5} width={Math.max(1.5, b - a)} height={LANE - 10} className="seg track" /> : null;
          }),
        )}
        {p.ivLog.map((iv) => {
          const row = lanes.length - 1;
          const a = x(iv.seenAt);
          const b = Math.min(W, x(iv.seenAt + iv.leadTimeS * 1000));
          return a >= GUTTER && a <= W ? (
            <g key={`${iv.trackId}|${iv.zoneId}|${iv.at}`}>
              <line x1={a} x2={b} y1={row * LANE + 9} y2={row * LANE + 9} className="iv-lead" />
              <circle cx={a} cy={row * LANE + 9} r={4} className="iv-dot">
                <title>{`Track ${iv.trackId} → ${iv.zoneId}: p ${iv.probability.toFixed(2)}, ${iv.leadTimeS.toFixed(1)} s ahead`}</title>
              </circle>
            </g>
          ) : null;
        })}
        {ticks.map((t, i) => (
          // The last label ends at the right edge instead of being cut off by it.
          <text key={t} x={x(t)} y={H - 4} className="tick" textAnchor={i === ticks.length - 1 ? 'end' : 'start'}>
            {clock(t)}
          </text>
        ))}
        <line x1={cx} x2={cx} y1={0} y2={H - 14} className={p.cursor === null ? 'cursor live' : 'cursor'} />
      </svg>
    </div>
  );
}
