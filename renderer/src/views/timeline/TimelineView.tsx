import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent, type PointerEvent } from 'react';
import { isMethodName, type MethodOutput, type TimelineIntervention, type TimelineTrack, type TimelineZone } from '../../../../preload/contract';
import { errorText, transport } from '../../transport';
import { growBounds, laneSegments, pointAhead, pushSnapshot, scaleBar, snapshotAt, validateZone, zoneId, type Bounds, type Snapshot, type ZoneDraft } from './model';
import './timeline.css';

type Stats = MethodOutput<'timeline.stats'>;
type Cameras = MethodOutput<'timeline.cameras'>;
/** A site zone from the swarm (where events are confirmed): context on the map, not editable here. */
interface SiteZone {
  id: string;
  name: string;
  polygon: { x: number; y: number }[];
}
interface SwarmEventLite {
  id: number;
  zone: string;
  cls: string;
  startTs: number;
  endTs: number;
  closed: boolean;
}
interface LoggedIntervention extends TimelineIntervention {
  seenAt: number;
}

const WINDOWS = [1, 5, 10] as const;
const KEEP_MS = 10 * 60_000;
const clock = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour12: false });
const fmt = (v: number | null | undefined, d = 2): string => (v === null || v === undefined ? '—' : v.toFixed(d));
const short = (id: string): string => (id.length > 8 ? `…${id.slice(-6)}` : id);

export function TimelineView() {
  const [snaps, setSnaps] = useState<Snapshot[]>([]);
  const [ivs, setIvs] = useState<TimelineIntervention[]>([]);
  const [ivLog, setIvLog] = useState<LoggedIntervention[]>([]);
  const [zones, setZones] = useState<TimelineZone[]>([]);
  const [stats, setStats] = useState<Stats>();
  const [cameras, setCameras] = useState<Cameras>([]);
  const [events, setEvents] = useState<SwarmEventLite[]>();
  const [fleetNames, setFleetNames] = useState<Map<string, string>>(new Map());
  const [windowMin, setWindowMin] = useState<number>(5);
  const [cursor, setCursor] = useState<number | null>(null); // null = live
  const [now, setNow] = useState(() => Date.now());
  const [error, setError] = useState<string>();
  const [siteZones, setSiteZones] = useState<SiteZone[]>([]);
  const hasEvents = useMemo(() => isMethodName('swarm.events'), []);
  const hasSiteZones = useMemo(() => isMethodName('swarm.zones'), []);

  const addSnapshot = useCallback((s: Snapshot) => {
    if (!s.at) return;
    setSnaps((list) => pushSnapshot(list, s, KEEP_MS));
  }, []);

  const refresh = useCallback(async () => {
    try {
      const [t, iv] = await Promise.all([transport().call('timeline.tracks', { confirmedOnly: true }), transport().call('timeline.interventions', {})]);
      addSnapshot(t);
      setIvs(iv);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, [addSnapshot]);

  const refreshSlow = useCallback(async () => {
    try {
      const [z, s, c] = await Promise.all([transport().call('timeline.zones', {}), transport().call('timeline.stats', {}), transport().call('timeline.cameras', {})]);
      setZones(z);
      setStats(s);
      setCameras(c);
    } catch (err) {
      setError(errorText(err));
    }
    try {
      // Registered cameras by serial (the id detections and calibrations use), for names and for
      // calibrating a camera that has none yet.
      const f = await transport().call('fleet.list', {});
      setFleetNames(new Map(f.cameras.filter((c) => c.serial).map((c) => [c.serial, c.name])));
    } catch {
      // The fleet capability may be absent; calibrated cameras are still listed.
    }
    if (hasSiteZones) {
      try {
        setSiteZones((await transport().call('swarm.zones', {})).zones);
      } catch {
        // Site zones are context only; the map works without them.
      }
    }
    if (hasEvents) {
      try {
        const e = await transport().call('swarm.events', { limit: 200 });
        setEvents(e.events);
      } catch {
        setEvents(undefined);
      }
    }
  }, [hasEvents, hasSiteZones]);

  useEffect(() => {
    void refresh();
    void refreshSlow();
    const fast = setInterval(() => {
      setNow(Date.now());
      void refresh();
    }, 1000);
    const slow = setInterval(() => void refreshSlow(), 5000);
    const offTracks = transport().on('timeline.tracks', (p) => addSnapshot(p));
    const offSite = hasSiteZones ? transport().on('swarm.zones', (z) => setSiteZones(z.zones)) : () => {};
    const offIv = transport().on('timeline.intervention', (iv) => setIvLog((l) => [...l.filter((x) => x.seenAt > Date.now() - KEEP_MS), { ...iv, seenAt: Date.now() }]));
    return () => {
      clearInterval(fast);
      clearInterval(slow);
      offTracks();
      offIv();
      offSite();
    };
  }, [refresh, refreshSlow, addSnapshot, hasSiteZones]);

  // Interventions also enter the log when first seen by polling (events may arrive before we subscribed).
  useEffect(() => {
    setIvLog((l) => {
      const known = new Set(l.map((x) => `${x.trackId}|${x.zoneId}|${x.at}`));
      const fresh = ivs.filter((x) => !known.has(`${x.trackId}|${x.zoneId}|${x.at}`)).map((x) => ({ ...x, seenAt: Date.now() }));
      return fresh.length ? [...l, ...fresh] : l;
    });
  }, [ivs]);

  const latest = snaps[snaps.length - 1];
  const end = Math.max(now, latest?.at ?? 0);
  const start = end - windowMin * 60_000;
  const live = cursor === null;
  const shown = live ? latest : snapshotAt(snaps, cursor);
  const shownIvs = live ? ivs : ivLog.filter((x) => Math.abs(x.seenAt - (cursor ?? 0)) < 2000);

  return (
    <section className="view timeline" aria-label="Timeline">
      <header className="view-header">
        <h1>Timeline</h1>
        <p className="muted">
          Ground tracks from every camera, their probable futures, and intervention points before a restricted zone is entered.{' '}
          {hasEvents && events !== undefined
            ? 'Confirmed swarm events are shown in their own lane.'
            : 'Confirmed swarm events are not available in this build: the timeline shows tracks, predictions and interventions only.'}
        </p>
      </header>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <TimeStrip
        snaps={snaps}
        cameras={cameras.map((c) => c.cameraId)}
        names={fleetNames}
        ivLog={ivLog}
        events={hasEvents ? events : undefined}
        start={start}
        end={end}
        cursor={cursor}
        onCursor={setCursor}
        windowMin={windowMin}
        onWindow={setWindowMin}
      />
      <div className="timeline-main">
        <GroundMap
          tracks={shown?.tracks ?? []}
          zones={zones}
          siteZones={siteZones}
          cameras={cameras}
          interventions={shownIvs}
          caption={live ? `Live · ${latest ? clock(latest.at) : 'waiting for tracks'}` : `Scrubbed to ${clock(cursor ?? 0)}`}
          onZonesSaved={setZones}
        />
        <aside className="timeline-side">
          <Interventions list={shownIvs} zones={zones} live={live} />
          <Quality stats={stats} cameras={cameras} names={fleetNames} onCalibrated={() => void refreshSlow()} />
        </aside>
      </div>
    </section>
  );
}

// ---- the scrubbable time strip -----------------------------------------------------------------

function TimeStrip(p: {
  snaps: Snapshot[];
  cameras: string[];
  names: Map<string, string>;
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
  const segs = useMemo(() => laneSegments(p.snaps), [p.snaps]);
  const laneIds = useMemo(() => [...new Set([...p.cameras, ...segs.keys()])].sort(), [p.cameras, segs]);
  const lanes = [...(p.events ? ['Events'] : []), ...laneIds, 'Interventions'];
  const H = lanes.length * LANE + 18;
  const span = p.end - p.start;
  const x = (t: number): number => ((t - p.start) / span) * W;
  const ref = useRef<SVGSVGElement>(null);
  const dragging = useRef(false);

  const setFromPointer = (e: PointerEvent<SVGSVGElement>): void => {
    const r = ref.current?.getBoundingClientRect();
    if (!r) return;
    const t = p.start + ((e.clientX - r.left) / r.width) * span;
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
            {m} min
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
        {lanes.map((l, i) => (
          <g key={l}>
            <rect x={0} y={i * LANE} width={W} height={LANE} className={i % 2 ? 'lane odd' : 'lane'} />
            <text x={4} y={i * LANE + 12} className="lane-label">
              {l === 'Events' || l === 'Interventions' ? l : (p.names.get(l) ?? short(l))}
            </text>
          </g>
        ))}
        {p.events?.map((e) => {
          const a = Math.max(0, x(e.startTs));
          const b = Math.min(W, x(e.closed ? e.endTs : p.end));
          return b > 0 && a < W ? <rect key={e.id} x={a} y={3} width={Math.max(2, b - a)} height={LANE - 6} className="seg event"><title>{`${e.cls} in ${e.zone}`}</title></rect> : null;
        })}
        {laneIds.map((cam, i) =>
          (segs.get(cam) ?? []).map((s) => {
            const a = Math.max(0, x(s.from));
            const b = Math.min(W, x(s.to));
            const row = i + (p.events ? 1 : 0);
            return b >= 0 && a <= W ? <rect key={`${cam}|${s.trackId}|${s.from}`} x={a} y={row * LANE + 5} width={Math.max(1.5, b - a)} height={LANE - 10} className="seg track" /> : null;
          }),
        )}
        {p.ivLog.map((iv) => {
          const row = lanes.length - 1;
          const a = x(iv.seenAt);
          const b = Math.min(W, x(iv.seenAt + iv.leadTimeS * 1000));
          return a >= 0 && a <= W ? (
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

// ---- the ground map with the zone editor -------------------------------------------------------

type EditState = { mode: 'idle' } | { mode: 'drawing'; draft: ZoneDraft } | { mode: 'form'; draft: ZoneDraft };
const emptyDraft = (): ZoneDraft => ({ name: '', polygon: [], threshold: '0.5', reactionS: '2', action: '' });

function GroundMap(p: {
  tracks: TimelineTrack[];
  zones: TimelineZone[];
  siteZones: SiteZone[];
  cameras: Cameras;
  interventions: TimelineIntervention[];
  caption: string;
  onZonesSaved: (z: TimelineZone[]) => void;
}) {
  const [bounds, setBounds] = useState<Bounds>();
  const [edit, setEdit] = useState<EditState>({ mode: 'idle' });
  const [saveError, setSaveError] = useState<string>();
  const [tried, setTried] = useState(false);
  const svgRef = useRef<SVGSVGElement>(null);

  useEffect(() => {
    // Where things are (tracks and zones), not everything a camera could see: a camera's footprint
    // reaches to its horizon and would shrink the people to dots. Camera footprints only frame an
    // empty map.
    const pts: { x: number; y: number }[] = p.tracks.map((t) => ({ x: t.x, y: t.y }));
    // The site's zones frame the map too: they are the places an operator knows the site by.
    for (const z of [...p.zones, ...p.siteZones]) pts.push(...z.polygon);
    if (!pts.length)
      for (const c of p.cameras) {
        const f = c.footprint;
        if (f.minX !== null && f.maxX !== null && f.minY !== null && f.maxY !== null && f.maxX - f.minX < 200 && f.maxY - f.minY < 200)
          pts.push({ x: f.minX, y: f.minY }, { x: f.maxX, y: f.maxY });
      }
    setBounds((b) => growBounds(b, pts, 6));
  }, [p.tracks, p.zones, p.siteZones, p.cameras]);

  const b = bounds ?? { minX: 0, minY: 0, maxX: 40, maxY: 30 };
  const w = b.maxX - b.minX;
  const h = b.maxY - b.minY;
  const unit = Math.max(w, h) / 100; // one "pixel" of the drawing, for strokes and text
  const pathOf = (pts: readonly { x: number; y: number }[]): string => pts.map((q, i) => `${i ? 'L' : 'M'}${q.x.toFixed(2)},${(-q.y).toFixed(2)}`).join(' ');
  const byId = new Map(p.tracks.map((t) => [t.id, t]));
  const bar = scaleBar(w);
  const barX = b.minX + unit * 3;
  const barY = -b.minY - unit * 3;

  const onMapClick = (e: MouseEvent<SVGSVGElement>): void => {
    if (edit.mode !== 'drawing') return;
    const svg = svgRef.current;
    const m = svg?.getScreenCTM();
    if (!svg || !m) return;
    const pt = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
    setEdit({ mode: 'drawing', draft: { ...edit.draft, polygon: [...edit.draft.polygon, { x: Math.round(pt.x * 100) / 100, y: Math.round(-pt.y * 100) / 100 }] } });
  };

  const draft = edit.mode === 'idle' ? undefined : edit.draft;
  const errors = draft && (tried || edit.mode === 'form') ? validateZone(draft, p.zones) : {};

  const save = async (): Promise<void> => {
    if (!draft) return;
    setTried(true);
    if (Object.keys(validateZone(draft, p.zones)).length) return;
    const others = p.zones.filter((z) => z.id !== draft.id);
    const zone: TimelineZone = {
      id: draft.id ?? zoneId(draft.name, new Set(others.map((z) => z.id))),
      name: draft.name.trim(),
      polygon: draft.polygon,
      threshold: Number(draft.threshold),
      reactionS: Number(draft.reactionS),
      ...(draft.action.trim() ? { action: draft.action.trim() } : {}),
    };
    try {
      const saved = await transport().call('timeline.zones', { set: [...others, zone] });
      p.onZonesSaved(saved);
      setEdit({ mode: 'idle' });
      setSaveError(undefined);
      setTried(false);
    } catch (err) {
      setSaveError(errorText(err));
    }
  };

  const remove = async (id: string): Promise<void> => {
    try {
      p.onZonesSaved(await transport().call('timeline.zones', { set: p.zones.filter((z) => z.id !== id) }));
    } catch (err) {
      setSaveError(errorText(err));
    }
  };

  return (
    <div className="timeline-map-panel">
      <div className="timeline-map-bar">
        <span className="muted">{p.caption}</span>
        {edit.mode === 'idle' && (
          <button type="button" onClick={() => { setTried(false); setSaveError(undefined); setEdit({ mode: 'drawing', draft: emptyDraft() }); }}>
            Draw zone
          </button>
        )}
        {edit.mode === 'drawing' && (
          <>
            <span role="status">Click the corners of the zone on the map ({edit.draft.polygon.length} so far).</span>
            <button type="button" disabled={!edit.draft.polygon.length} onClick={() => setEdit({ mode: 'drawing', draft: { ...edit.draft, polygon: edit.draft.polygon.slice(0, -1) } })}>
              Undo corner
            </button>
            <button type="button" onClick={() => { setTried(true); setEdit({ mode: 'form', draft: edit.draft }); }}>
              Finish drawing
            </button>
            <button type="button" onClick={() => setEdit({ mode: 'idle' })}>
              Cancel
            </button>
          </>
        )}
      </div>
      {edit.mode === 'drawing' && errors.polygon && (
        <p role="alert" className="error">
          {errors.polygon}
        </p>
      )}
      <svg
        ref={svgRef}
        className={`timeline-map ${edit.mode === 'drawing' ? 'drawing' : ''}`}
        viewBox={`${b.minX} ${-b.maxY} ${w} ${h}`}
        role="img"
        aria-label={`Ground map: zones, tracks and their probable futures; scale bar ${bar.label}`}
        data-bounds={`${b.minX},${b.minY},${b.maxX},${b.maxY}`}
        onClick={onMapClick}
      >
        {p.siteZones.map((z) => (
          <g key={`site:${z.id}`} className="site-zone" data-site-zone={z.id}>
            <path d={`${pathOf(z.polygon)} Z`} strokeWidth={unit * 0.2} />
            <text x={z.polygon[0]!.x + unit} y={-z.polygon[0]!.y - unit} fontSize={unit * 1.8}>
              {z.name}
            </text>
          </g>
        ))}
        {p.zones.map((z) => (
          <g key={z.id} className="zone">
            <path d={`${pathOf(z.polygon)} Z`} strokeWidth={unit * 0.3} />
            <text x={z.polygon[0]!.x} y={-z.polygon[0]!.y} fontSize={unit * 2.2}>
              {z.name}
            </text>
          </g>
        ))}
        {draft && draft.polygon.length > 0 && (
          <g className="zone-draft">
            <path d={`${pathOf(draft.polygon)}${draft.polygon.length > 2 ? ' Z' : ''}`} strokeWidth={unit * 0.3} />
            {draft.polygon.map((q, i) => (
              <circle key={i} cx={q.x} cy={-q.y} r={unit * 0.8} />
            ))}
          </g>
        )}
        {p.tracks.map((t) => (
          <g key={t.id} className="track" data-track={t.id} data-x={t.x} data-y={t.y} data-vx={t.vx} data-vy={t.vy}>
            {t.futures.map((f, i) => (
              <g key={i} opacity={0.25 + 0.75 * f.weight}>
                <path d={pathOf([{ x: t.x, y: t.y }, ...f.points])} className="future" strokeWidth={unit * (0.2 + 0.6 * f.weight)} />
                {f.weight >= 0.15 && f.points.length > 0 && (
                  <text x={f.points[f.points.length - 1]!.x} y={-f.points[f.points.length - 1]!.y} fontSize={unit * 1.8} className="future-label">
                    {`${Math.round(f.weight * 100)}%`}
                  </text>
                )}
              </g>
            ))}
            <circle cx={t.x} cy={-t.y} r={unit * 0.9} className={`dot cls-${t.cls.toLowerCase()}`}>
              <title>{`${t.cls} ${t.id} · ${Math.hypot(t.vx, t.vy).toFixed(1)} m/s · cameras ${t.cameras.map(short).join(', ')}`}</title>
            </circle>
            <text x={t.x + unit * 1.2} y={-t.y - unit * 1.2} fontSize={unit * 1.8} className="track-label">
              {t.id}
            </text>
          </g>
        ))}
        {p.interventions.map((iv) => {
          const t = byId.get(iv.trackId);
          if (!t) return null;
          const q = pointAhead(t, iv.leadTimeS);
          return (
            <g key={`${iv.trackId}|${iv.zoneId}`} className="intervention">
              <path d={`M${q.x - unit},${-q.y - unit} L${q.x + unit},${-q.y + unit} M${q.x - unit},${-q.y + unit} L${q.x + unit},${-q.y - unit}`} strokeWidth={unit * 0.5} />
              <text x={q.x + unit * 1.5} y={-q.y + unit * 2.5} fontSize={unit * 2}>
                {`p ${iv.probability.toFixed(2)} · ${iv.leadTimeS.toFixed(1)} s`}
              </text>
            </g>
          );
        })}
        <g className="scale-bar" aria-hidden="true">
          <path d={`M${barX},${barY - unit} V${barY} H${barX + bar.metres} V${barY - unit}`} strokeWidth={unit * 0.3} />
          <text x={barX + bar.metres / 2} y={barY - unit * 1.4} fontSize={unit * 1.8} textAnchor="middle">
            {bar.label}
          </text>
        </g>
      </svg>
      {p.tracks.length === 0 && <p className="empty">No tracks yet. Tracks appear once calibrated cameras report people or vehicles (turn the demo fleet on in Settings, or set four reference points for a camera).</p>}
      {edit.mode === 'form' && (
        <form
          className="zone-form"
          aria-label="Zone"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <label className="stack">
            Zone name
            <input value={edit.draft.name} aria-invalid={!!errors.name} onChange={(e) => setEdit({ mode: 'form', draft: { ...edit.draft, name: e.target.value } })} />
            {errors.name && <span className="error">{errors.name}</span>}
          </label>
          <label className="stack">
            Entry probability threshold
            <input type="number" step="0.05" min="0.01" max="0.99" value={edit.draft.threshold} aria-invalid={!!errors.threshold} onChange={(e) => setEdit({ mode: 'form', draft: { ...edit.draft, threshold: e.target.value } })} />
            {errors.threshold && <span className="error">{errors.threshold}</span>}
          </label>
          <label className="stack">
            Reaction time (s)
            <input type="number" step="0.5" min="0" max="60" value={edit.draft.reactionS} aria-invalid={!!errors.reactionS} onChange={(e) => setEdit({ mode: 'form', draft: { ...edit.draft, reactionS: e.target.value } })} />
            {errors.reactionS && <span className="error">{errors.reactionS}</span>}
          </label>
          <label className="stack">
            Suggested action (optional)
            <input value={edit.draft.action} onChange={(e) => setEdit({ mode: 'form', draft: { ...edit.draft, action: e.target.value } })} />
          </label>
          {errors.polygon && <p className="error">{errors.polygon}</p>}
          {saveError && (
            <p role="alert" className="error">
              {saveError}
            </p>
          )}
          <div className="zone-form-actions">
            <button type="submit">Save zone</button>
            <button type="button" onClick={() => setEdit({ mode: 'drawing', draft: { ...edit.draft, polygon: [] } })}>
              Redraw corners
            </button>
            <button type="button" onClick={() => setEdit({ mode: 'idle' })}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ul className="zone-list" aria-label="Restricted zones">
        {p.zones.length === 0 && <li className="muted">No restricted zones. Draw one on the map to get intervention points.</li>}
        {p.zones.map((z) => (
          <li key={z.id}>
            <span>
              <strong>{z.name}</strong> <span className="muted">p ≥ {z.threshold} · react {z.reactionS} s · {z.polygon.length} corners</span>
            </span>
            <span>
              <button
                type="button"
                aria-label={`Edit zone ${z.name}`}
                onClick={() => {
                  setSaveError(undefined);
                  setEdit({ mode: 'form', draft: { id: z.id, name: z.name, polygon: z.polygon, threshold: String(z.threshold), reactionS: String(z.reactionS), action: z.action ?? '' } });
                }}
              >
                Edit
              </button>
              <button type="button" aria-label={`Delete zone ${z.name}`} onClick={() => void remove(z.id)}>
                Delete
              </button>
            </span>
          </li>
        ))}
      </ul>
      {edit.mode === 'idle' && saveError && (
        <p role="alert" className="error">
          {saveError}
        </p>
      )}
    </div>
  );
}

// ---- side panels -------------------------------------------------------------------------------

function Interventions(p: { list: TimelineIntervention[]; zones: TimelineZone[]; live: boolean }) {
  const name = (id: string): string => p.zones.find((z) => z.id === id)?.name ?? id;
  return (
    <section aria-label="Intervention points" className="timeline-card">
      <h2>Intervention points</h2>
      {p.list.length === 0 ? (
        <p className="muted">{p.zones.length ? 'No track is likely to enter a restricted zone.' : 'Draw a restricted zone to get intervention points.'}</p>
      ) : (
        <ul className="iv-list">
          {p.list.map((iv) => (
            <li key={`${iv.trackId}|${iv.zoneId}`} className="intervention-item">
              <div>
                <strong>{name(iv.zoneId)}</strong> · track {iv.trackId}
              </div>
              <div>
                probability <span className="stat-value">{iv.probability.toFixed(2)}</span> · lead time <span className="stat-value">{iv.leadTimeS.toFixed(1)} s</span> · act by {clock(iv.actBy)}
              </div>
              <div className="muted">{iv.suggestedAction}</div>
            </li>
          ))}
        </ul>
      )}
      {!p.live && <p className="muted">Scrubbed: showing interventions raised around that moment.</p>}
    </section>
  );
}

function Quality(p: { stats: Stats | undefined; cameras: Cameras; names: Map<string, string>; onCalibrated: () => void }) {
  const per = new Map(p.stats?.perCamera.map((c) => [c.cameraId, c]) ?? []);
  const ids = [...new Set([...p.cameras.map((c) => c.cameraId), ...per.keys(), ...p.names.keys()])].sort();
  const cal = new Map(p.cameras.map((c) => [c.cameraId, c]));
  const [editing, setEditing] = useState<string>();
  const label = (id: string): string => p.names.get(id) ?? short(id);
  return (
    <section aria-label="Prediction quality" className="timeline-card">
      <h2>Calibration and prediction quality</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Camera</th>
            <th scope="col">Calibration</th>
            <th scope="col">RMS m</th>
            <th scope="col">ADE m</th>
            <th scope="col">FDE m</th>
            <th scope="col">n</th>
          </tr>
        </thead>
        <tbody>
          {ids.map((id) => (
            <tr key={id}>
              <td title={id}>
                <button type="button" className="link" aria-label={`Set reference points for ${label(id)}`} onClick={() => setEditing(editing === id ? undefined : id)}>
                  {label(id)}
                </button>
              </td>
              <td>{cal.get(id)?.source ?? 'none'}</td>
              <td>{fmt(cal.get(id)?.rmsErrorM, 3)}</td>
              <td>{fmt(per.get(id)?.ade)}</td>
              <td>{fmt(per.get(id)?.fde)}</td>
              <td>{per.get(id)?.n ?? 0}</td>
            </tr>
          ))}
          <tr className="overall">
            <td>Overall</td>
            <td>Brier {fmt(p.stats?.overall.brier, 3)}</td>
            <td />
            <td>{fmt(p.stats?.overall.ade)}</td>
            <td>{fmt(p.stats?.overall.fde)}</td>
            <td>{p.stats?.overall.n ?? 0}</td>
          </tr>
        </tbody>
      </table>
      {ids.length === 0 && <p className="muted">No camera yet: simulated cameras supply their calibration; for a real camera, choose it here and set four reference points.</p>}
      {editing && (
        <CalibrationForm
          key={editing}
          cameraId={editing}
          name={label(editing)}
          onDone={() => {
            setEditing(undefined);
            p.onCalibrated();
          }}
        />
      )}
    </section>
  );
}

type PointRow = { u: string; v: string; x: string; y: string };

/** Four (or more) image↔ground reference points for a real camera: image in 0..1 of the frame, ground in metres. */
function CalibrationForm(p: { cameraId: string; name: string; onDone: () => void }) {
  const [rows, setRows] = useState<PointRow[]>(() => Array.from({ length: 4 }, () => ({ u: '', v: '', x: '', y: '' })));
  const [error, setError] = useState<string>();
  useEffect(() => {
    void transport()
      .call('timeline.calibration', { cameraId: p.cameraId })
      .then((c) => {
        if (c.points.length >= 4) setRows(c.points.map((q) => ({ u: String(q.image.u), v: String(q.image.v), x: String(q.ground.x), y: String(q.ground.y) })));
      })
      .catch(() => undefined);
  }, [p.cameraId]);
  const set = (i: number, k: keyof PointRow, v: string): void => setRows((r) => r.map((row, j) => (j === i ? { ...row, [k]: v } : row)));
  const save = async (): Promise<void> => {
    const points = rows.map((r) => ({ image: { u: Number(r.u), v: Number(r.v) }, ground: { x: Number(r.x), y: Number(r.y) } }));
    const bad = rows.findIndex((r) => [r.u, r.v, r.x, r.y].some((v) => v.trim() === '' || !Number.isFinite(Number(v))));
    if (bad >= 0) return setError(`Point ${bad + 1} needs all four numbers: image u and v (0 to 1 across and down the frame) and ground x and y in metres.`);
    if (points.some((q) => q.image.u < 0 || q.image.u > 1 || q.image.v < 0 || q.image.v > 1)) return setError('Image positions run from 0 to 1 (left to right, top to bottom of the frame).');
    try {
      await transport().call('timeline.calibration', { cameraId: p.cameraId, points });
      setError(undefined);
      p.onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form
      className="calibration-form"
      aria-label={`Reference points for ${p.name}`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <p className="muted">Pick four points on the ground you can see in the frame and measure on site (corners of markings work well), no three on one line.</p>
      {rows.map((r, i) => (
        <fieldset key={i}>
          <legend>Point {i + 1}</legend>
          {(['u', 'v', 'x', 'y'] as const).map((k) => (
            <label key={k}>
              {k === 'u' ? 'image u' : k === 'v' ? 'image v' : `ground ${k} (m)`}
              <input inputMode="decimal" value={r[k]} aria-label={`Point ${i + 1} ${k === 'u' || k === 'v' ? 'image' : 'ground'} ${k}`} onChange={(e) => set(i, k, e.target.value)} />
            </label>
          ))}
        </fieldset>
      ))}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="zone-form-actions">
        <button type="submit">Save calibration</button>
        <button type="button" onClick={() => setRows((r) => (r.length < 32 ? [...r, { u: '', v: '', x: '', y: '' }] : r))}>
          Add point
        </button>
        <button type="button" onClick={p.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
