// The ground map (tracks, their probable futures, zones, intervention points) with the zone editor.
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import type { MethodOutput, TimelineIntervention, TimelineTrack, TimelineZone } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useAction } from '../../data/useAction';
import { cameraLabel, type CameraNames } from '../../stores/cameraNamesCore';
import { transport } from '../../transport';
import { growBounds, parseCorner, pointAhead, scaleBar, validateZone, zoneId, type Bounds, type ZoneDraft } from './model';
import { LABEL_FONT, layoutMapLabels, type FixedText } from './mapLabels';
import type { SiteZone } from './types';

const interventionText = (iv: TimelineIntervention): string => `p ${iv.probability.toFixed(2)} · ${iv.leadTimeS.toFixed(1)} s`;

type Cameras = MethodOutput<'timeline.cameras'>;

interface MapLayers {
  labels: boolean;
  futures: 'likely' | 'all' | 'off';
  /** Where each camera detects (its include area on the ground): what the swarm counts it for. */
  areas: boolean;
}
const LAYERS_KEY = 'omnisight.timeline.layers';
function loadLayers(): MapLayers {
  try {
    const raw = JSON.parse(localStorage.getItem(LAYERS_KEY) ?? '{}') as Partial<MapLayers>;
    return { labels: raw.labels !== false, futures: raw.futures === 'all' || raw.futures === 'off' ? raw.futures : 'likely', areas: raw.areas === true };
  } catch {
    return { labels: true, futures: 'likely', areas: false };
  }
}
const saveLayers = (l: MapLayers): void => localStorage.setItem(LAYERS_KEY, JSON.stringify(l));

type EditState = { mode: 'idle' } | { mode: 'drawing'; draft: ZoneDraft } | { mode: 'form'; draft: ZoneDraft };
const emptyDraft = (): ZoneDraft => ({ name: '', polygon: [], threshold: '0.5', reactionS: '2', action: '' });

export function GroundMap(p: {
  tracks: TimelineTrack[];
  zones: TimelineZone[];
  siteZones: SiteZone[];
  cameras: Cameras;
  interventions: TimelineIntervention[];
  caption: string;
  names: CameraNames;
  onZonesSaved: (z: TimelineZone[]) => void;
}) {
  const [bounds, setBounds] = useState<Bounds>();
  const [edit, setEdit] = useState<EditState>({ mode: 'idle' });
  const [tried, setTried] = useState(false);
  const [corner, setCorner] = useState('');
  const [show, setShow] = useState<MapLayers>(() => loadLayers());
  const [selected, setSelected] = useState<string>();
  const svgRef = useRef<SVGSVGElement>(null);
  const saving = useAction(async (zones: TimelineZone[]) => {
    p.onZonesSaved(await transport().call('timeline.zones', { set: zones }));
  });
  const saveError = saving.error;
  const toggle = (k: keyof MapLayers, v: MapLayers[keyof MapLayers]): void =>
    setShow((s) => {
      const next = { ...s, [k]: v };
      saveLayers(next);
      return next;
    });

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
    const r = await saving.run([...others, zone]);
    if (r.ok) {
      setEdit({ mode: 'idle' });
      setTried(false);
    }
  };

  const remove = (id: string): void => void saving.run(p.zones.filter((z) => z.id !== id));

  const addTypedCorner = (): void => {
    if (edit.mode !== 'drawing') return;
    const c = parseCorner(corner);
    if (typeof c === 'string') return saving.fail(c);
    saving.clear();
    setCorner('');
    setEdit({ mode: 'drawing', draft: { ...edit.draft, polygon: [...edit.draft.polygon, c] } });
  };

  // Futures: the chosen track's, or every track's most likely one (all of them at once is a smear).
  const futuresOf = (t: TimelineTrack): TimelineTrack['futures'] =>
    show.futures === 'off' ? [] : show.futures === 'all' || t.id === selected ? t.futures : t.futures.slice().sort((a, b) => b.weight - a.weight).slice(0, 1);
  // Zone names and intervention notes stay put; track ids and percentages go where they cover none
  // of them, no dot and each other (mapLabels.ts). What does not fit is in the tooltips.
  const fixedTexts = useMemo((): FixedText[] => {
    const fixed: FixedText[] = [
      ...p.siteZones.map((z) => ({ text: z.name, x: z.polygon[0]!.x + unit, y: -z.polygon[0]!.y - unit, fontSize: unit * 1.8 })),
      ...p.zones.map((z) => ({ text: z.name, x: z.polygon[0]!.x, y: -z.polygon[0]!.y, fontSize: unit * 2.2 })),
    ];
    const tracks = new Map(p.tracks.map((t) => [t.id, t]));
    for (const iv of p.interventions) {
      const t = tracks.get(iv.trackId);
      if (!t) continue;
      const q = pointAhead(t, iv.leadTimeS);
      fixed.push({ text: interventionText(iv), x: q.x + unit * 1.5, y: -q.y + unit * 2.5, fontSize: unit * 2 });
    }
    return fixed;
  }, [p.siteZones, p.zones, p.interventions, p.tracks, unit]);
  const labels = useMemo(() => {
    if (!show.labels) return { at: new Map<string, { x: number; y: number }>(), dropped: new Set<string>() };
    return layoutMapLabels({
      tracks: p.tracks.map((t) => ({ id: t.id, x: t.x, y: t.y, futures: futuresOf(t).map((f) => ({ weight: f.weight, end: f.points[f.points.length - 1] })) })),
      fixed: fixedTexts,
      unit,
      bounds: { x: b.minX, y: -b.maxY, w, h },
    });
  }, [p.tracks, show, selected, unit, fixedTexts, b.minX, b.maxY, w, h]);

  return (
    <div className="timeline-map-panel">
      <div className="timeline-map-bar">
        <span className="muted">{p.caption}</span>
        {edit.mode === 'idle' && (
          <button
            type="button"
            onClick={() => {
              setTried(false);
              saving.clear();
              setEdit({ mode: 'drawing', draft: emptyDraft() });
            }}
          >
            Draw zone
          </button>
        )}
        {edit.mode === 'drawing' && (
          <>
            <span role="status">Click the corners of the zone on the map, or type them ({edit.draft.polygon.length} so far).</span>
            <label className="inline-field">
              Corner x, y (m)
              <input
                value={corner}
                onChange={(e) => setCorner(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    addTypedCorner();
                  }
                }}
                placeholder="12.5, 4"
                size={9}
              />
            </label>
            <button type="button" onClick={addTypedCorner}>
              Add corner
            </button>
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
      {edit.mode === 'drawing' && <ErrorLine error={saveError} className="error" />}
      <fieldset className="map-layers" aria-label="Map layers">
        <label className="check">
          <input type="checkbox" checked={show.labels} onChange={(e) => toggle('labels', e.target.checked)} /> Labels
        </label>
        <label className="check" title="Where each camera detects (the include area it reports, on the ground): the swarm counts a camera for a zone when a quarter of the zone lies in it">
          <input type="checkbox" checked={show.areas} onChange={(e) => toggle('areas', e.target.checked)} /> Detection areas
        </label>
        <label className="check">
          Futures
          <select value={show.futures} onChange={(e) => toggle('futures', e.target.value as MapLayers['futures'])} aria-label="Futures shown">
            <option value="likely">most likely (all of the chosen track)</option>
            <option value="all">all</option>
            <option value="off">none</option>
          </select>
        </label>
      </fieldset>
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
        {show.areas &&
          p.cameras.map((c) =>
            c.detectionArea ? (
              <g key={`area:${c.cameraId}`} className="camera-area" data-camera-area={c.cameraId}>
                <path d={`${pathOf(c.detectionArea)} Z`} strokeWidth={unit * 0.2} />
                <title>{`${cameraLabel(c.cameraId, p.names)} detects here`}</title>
              </g>
            ) : null,
          )}
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
          <g
            key={t.id}
            className={`track${t.id === selected ? ' selected' : ''}`}
            data-track={t.id}
            data-x={t.x}
            data-y={t.y}
            data-vx={t.vx}
            data-vy={t.vy}
            onClick={(e) => {
              if (edit.mode === 'drawing') return;
              e.stopPropagation();
              setSelected((s) => (s === t.id ? undefined : t.id));
            }}
          >
            {futuresOf(t).map((f, i) => (
              <g key={i} opacity={0.25 + 0.75 * f.weight}>
                <path d={pathOf([{ x: t.x, y: t.y }, ...f.points])} className="future" strokeWidth={unit * (0.2 + 0.6 * f.weight)}>
                  <title>{`${t.id}: ${f.label}, ${Math.round(f.weight * 100)}%`}</title>
                </path>
              </g>
            ))}
            <circle cx={t.x} cy={-t.y} r={unit * 0.9} className={`dot cls-${t.cls.toLowerCase()}`}>
              <title>{`${t.cls} ${t.id} · ${Math.hypot(t.vx, t.vy).toFixed(1)} m/s · cameras ${t.cameras.map((c) => cameraLabel(c, p.names)).join(', ')}`}</title>
            </circle>
          </g>
        ))}
        {/* Labels above every dot and path (a later track's dot used to cover an earlier one's id). */}
        <g className="map-labels" aria-hidden="true">
          {p.tracks.map((t) => {
            const at = labels.at.get(`t:${t.id}`);
            return (
              <g key={t.id}>
                {at && (
                  <text x={at.x} y={at.y} fontSize={unit * LABEL_FONT} className="track-label" data-label-for={t.id}>
                    {t.id}
                  </text>
                )}
                {futuresOf(t).map((f, i) => {
                  const fa = labels.at.get(`f:${t.id}:${i}`);
                  return (
                    fa && (
                      <text key={i} x={fa.x} y={fa.y} fontSize={unit * LABEL_FONT} className="future-label">
                        {`${Math.round(f.weight * 100)}%`}
                      </text>
                    )
                  );
                })}
              </g>
            );
          })}
        </g>
        {p.interventions.map((iv) => {
          const t = byId.get(iv.trackId);
          if (!t) return null;
          const q = pointAhead(t, iv.leadTimeS);
          return (
            <g key={`${iv.trackId}|${iv.zoneId}`} className="intervention">
              <path d={`M${q.x - unit},${-q.y - unit} L${q.x + unit},${-q.y + unit} M${q.x - unit},${-q.y + unit} L${q.x + unit},${-q.y - unit}`} strokeWidth={unit * 0.5} />
              <text x={q.x + unit * 1.5} y={-q.y + unit * 2.5} fontSize={unit * 2}>
                {interventionText(iv)}
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
          <ErrorLine error={saveError} className="error" />
          <div className="zone-form-actions">
            <button type="submit" disabled={saving.pending}>
              Save zone
            </button>
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
                  saving.clear();
                  setEdit({ mode: 'form', draft: { id: z.id, name: z.name, polygon: z.polygon, threshold: String(z.threshold), reactionS: String(z.reactionS), action: z.action ?? '' } });
                }}
              >
                Edit
              </button>
              <button type="button" aria-label={`Delete zone ${z.name}`} disabled={saving.pending} onClick={() => remove(z.id)}>
                Delete
              </button>
            </span>
          </li>
        ))}
      </ul>
      {edit.mode === 'idle' && <ErrorLine error={saveError} className="error" />}
    </div>
  );
}
