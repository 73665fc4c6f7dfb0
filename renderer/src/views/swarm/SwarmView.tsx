import * as Dialog from '@radix-ui/react-dialog';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { MethodOutput, SwarmEvent, SwarmGraph } from '../../../../preload/contract';
import { errorText, transport } from '../../transport';
import { GraphCanvas } from './GraphCanvas';
import { syntheticGraph } from './graph';
import './swarm.css';

type Status = MethodOutput<'swarm.status'>;
type Insights = MethodOutput<'swarm.insights'>;
type Zones = MethodOutput<'swarm.zones'>;
type Mode = Status['mode'];

const time = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour12: false });
const modes: { id: Mode; label: string; hint: string }[] = [
  { id: 'strict', label: 'Strict', hint: 'refuse reports that fail a check and record why' },
  { id: 'permissive', label: 'Permissive', hint: 'refuse them too, but draw their boxes on the tile marked unverified' },
  { id: 'audit', label: 'Audit', hint: 'refuse them too, and keep each refused message in the audit log' },
];

/** ?bench=swarm-graph[&n=500]: the graph fed by a synthetic topology that changes every second, redrawn every frame. */
function benchParams(): { n: number } | undefined {
  const q = new URLSearchParams(window.location.search);
  if (q.get('bench') !== 'swarm-graph') return undefined;
  const n = Number(q.get('n') ?? 500);
  return { n: Number.isInteger(n) && n > 0 && n <= 5000 ? n : 500 };
}

function useBenchGraph(n: number | undefined): SwarmGraph | undefined {
  const [g, setG] = useState<SwarmGraph>();
  useEffect(() => {
    if (!n) return;
    let k = 0;
    setG(syntheticGraph(n, 1, 1));
    // Status and link health change every second; the structure re-forms every fifth second.
    const t = setInterval(() => {
      k++;
      setG(syntheticGraph(n, 1 + k, 1 + Math.floor(k / 5)));
    }, 1000);
    return () => clearInterval(t);
  }, [n]);
  return g;
}

export function SwarmView() {
  const bench = useMemo(benchParams, []);
  const benchGraph = useBenchGraph(bench?.n);
  const [status, setStatus] = useState<Status>();
  const [events, setEvents] = useState<SwarmEvent[]>([]);
  const [eventTotal, setEventTotal] = useState(0);
  const [insights, setInsights] = useState<Insights>();
  const [zones, setZones] = useState<Zones>();
  const [selected, setSelected] = useState<string>();
  const [releasing, setReleasing] = useState<string>();
  const [note, setNote] = useState('');
  const [editZones, setEditZones] = useState<string>();
  const [error, setError] = useState<string>();

  const refresh = useCallback(async () => {
    if (bench) return;
    try {
      const [s, e, i, z] = await Promise.all([
        transport().call('swarm.status', {}),
        transport().call('swarm.events', { limit: 50 }),
        transport().call('swarm.insights', { recent: 20 }),
        transport().call('swarm.zones', {}),
      ]);
      setStatus(s);
      setEvents(e.events);
      setEventTotal(e.total);
      setInsights(i);
      setZones(z);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, [bench]);

  useEffect(() => {
    if (bench) return;
    void refresh();
    // Link health and liveness change without a topology event: re-read the status every 2 s.
    const t = setInterval(() => void refresh(), 2000);
    const offs = [
      transport().on('swarm.topology', (graph) => setStatus((s) => (s ? { ...s, graph } : s))),
      transport().on('swarm.event', (ev) => {
        setEvents((list) => {
          const rest = list.filter((x) => x.id !== ev.id);
          return [ev, ...rest].sort((a, b) => b.id - a.id).slice(0, 50);
        });
      }),
      transport().on('swarm.quarantine', () => void refresh()),
      transport().on('swarm.zones', (z) => setZones(z)),
    ];
    return () => {
      clearInterval(t);
      offs.forEach((off) => off());
    };
  }, [bench, refresh]);

  const graph = bench ? benchGraph : status?.graph;
  const node = selected ? graph?.nodes.find((n) => n.id === selected) : undefined;
  const quarantined = status?.quarantined ?? [];
  const proofOf = (camera: string) => quarantined.find((q) => q.camera === camera);

  const setMode = async (mode: Mode): Promise<void> => {
    try {
      await transport().call('swarm.setMode', { mode });
      await refresh();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const release = async (): Promise<void> => {
    if (!releasing) return;
    try {
      await transport().call('swarm.release', { camera: releasing, ...(note ? { note } : {}) });
      setReleasing(undefined);
      setNote('');
      await refresh();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const saveZones = async (): Promise<void> => {
    if (editZones === undefined) return;
    try {
      const parsed = JSON.parse(editZones) as unknown;
      await transport().call('swarm.setZones', { zones: parsed as never });
      setEditZones(undefined);
      await refresh();
    } catch (err) {
      setError(err instanceof SyntaxError ? `The zones are not valid JSON: ${err.message}` : errorText(err));
    }
  };

  return (
    <section className="view swarm">
      <header className="view-header">
        <h1>Swarm</h1>
        <p className="muted">
          {graph ? (graph.mode === 'mesh' ? `Mesh of ${graph.nodes.length} cameras, each cross-checked with every other.` : `${graph.nodes.length} cameras in ${graph.clusters.length} clusters, heads joined by a backbone.`) : 'Waiting for the coordinator.'}
          {bench && ' (benchmark: synthetic topology)'}
        </p>
      </header>

      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      <div className="swarm-top">
        <div className="swarm-graph-panel">
          {graph && graph.nodes.length === 0 ? (
            <p className="empty">No camera is registered with a signing key yet. Add a camera (or turn the demo fleet on in Settings) and it appears here once its key is recorded.</p>
          ) : (
            <GraphCanvas graph={graph} selected={selected} onSelect={setSelected} continuous={!!bench} />
          )}
        </div>

        <aside className="swarm-side" aria-label="Camera details">
          {status && (
            <ul className="stat-row swarm-stats" aria-label="Report counts">
              <li>
                <span className="stat-value">{status.accepted}</span> accepted
              </li>
              <li className={status.rejected.total ? 'sev-warning' : ''}>
                <span className="stat-value">{status.rejected.total}</span> refused
              </li>
              <li className={quarantined.length ? 'sev-critical' : ''}>
                <span className="stat-value">{quarantined.length}</span> quarantined
              </li>
            </ul>
          )}
          <label className="stack">
            Verification mode
            <select aria-label="Verification mode" value={status?.mode ?? 'strict'} disabled={!status} onChange={(e) => void setMode(e.target.value as Mode)}>
              {modes.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label}: {m.hint}
                </option>
              ))}
            </select>
          </label>

          {node ? (
            <div className="swarm-node" aria-live="polite">
              <h2 className="mono">{node.id}</h2>
              <dl>
                <dt>Status</dt>
                <dd className={`swarm-status st-${node.status}`}>{node.status}</dd>
                <dt>Role</dt>
                <dd>{node.head ? 'cluster head' : node.cluster ? `member of ${node.cluster}` : 'mesh peer'}</dd>
                <dt>Zones</dt>
                <dd>{node.zones.join(', ') || 'none'}</dd>
                <dt>Latency</dt>
                <dd>{node.latencyMs === null ? '—' : `${node.latencyMs.toFixed(1)} ms`}</dd>
                <dt>Loss</dt>
                <dd>{(node.loss * 100).toFixed(1)} %</dd>
                <dt>Reputation</dt>
                <dd>{node.reputation.toFixed(2)}</dd>
                <dt>Last seen</dt>
                <dd>{node.lastSeen ? time(node.lastSeen) : '—'}</dd>
              </dl>
              {node.status === 'quarantined' && proofOf(node.id) && (
                <p>
                  <span className="sev-critical">{proofOf(node.id)!.reason}</span>{' '}
                  <button type="button" onClick={() => setReleasing(node.id)} aria-label={`Release camera ${node.id} (selected)`}>
                    Release…
                  </button>
                </p>
              )}
            </div>
          ) : (
            <p className="muted">Select a camera on the graph to see its link health.</p>
          )}

          <h2>Quarantined</h2>
          {quarantined.length === 0 ? (
            <p className="muted">None. A camera that sends two conflicting signed reports is quarantined here with its proof.</p>
          ) : (
            <ul className="swarm-quarantine" aria-label="Quarantined cameras">
              {quarantined.map((q) => (
                <li key={q.camera}>
                  <span className="badge sev-critical">quarantined</span> <span className="mono">{q.camera}</span>
                  <div className="muted">{q.reason}</div>
                  <details>
                    <summary>Equivocation proof</summary>
                    <p className="muted">Both messages are signed by the camera's recorded key; they cannot both be true.</p>
                    <pre className="mono swarm-proof">{q.first}</pre>
                    <pre className="mono swarm-proof">{q.second}</pre>
                  </details>
                  <button type="button" onClick={() => setReleasing(q.camera)} aria-label={`Release camera ${q.camera}`}>
                    Release…
                  </button>
                </li>
              ))}
            </ul>
          )}
        </aside>
      </div>

      <div className="swarm-bottom">
        <section aria-labelledby="swarm-zones-h">
          <div className="swarm-section-head">
            <h2 id="swarm-zones-h">Zones</h2>
            <span className="muted">{zones ? (zones.source === 'demo' ? 'from the demo scene' : zones.source === 'user' ? 'set by you' : 'none set') : ''}</span>
            <button type="button" className="ghost" onClick={() => setEditZones(JSON.stringify(zones?.zones ?? [], null, 2))} disabled={!zones}>
              Edit zones…
            </button>
          </div>
          {status && status.zones.length === 0 ? (
            <p className="empty">No zones yet. Events are confirmed per zone: add the site's zones (ground polygons in metres).</p>
          ) : (
            <table className="table" aria-label="Zones">
              <thead>
                <tr>
                  <th scope="col">Zone</th>
                  <th scope="col">Covering</th>
                  <th scope="col">f</th>
                  <th scope="col">Healthy</th>
                  <th scope="col">Tolerance</th>
                </tr>
              </thead>
              <tbody>
                {status?.zones.map((z) => (
                  <tr key={z.zone}>
                    <td>{zones?.zones.find((c) => c.id === z.zone)?.name ?? z.zone}</td>
                    <td>{z.n}</td>
                    <td>{z.f}</td>
                    <td>{z.healthy}</td>
                    <td>
                      {z.lacksLiveness ? (
                        <span className="sev-warning" role="status">
                          lacks 2f+1 cameras ({z.healthy} of {2 * z.f + 1}): an event may go unconfirmed
                        </span>
                      ) : z.byzantineTolerant ? (
                        <span className="sev-info">tolerates {z.f} lying camera{z.f === 1 ? '' : 's'}</span>
                      ) : (
                        <span className="muted">f = 0: one camera confirms alone</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section aria-labelledby="swarm-events-h">
          <div className="swarm-section-head">
            <h2 id="swarm-events-h">Confirmed events</h2>
            <span className="muted">{eventTotal} in all</span>
          </div>
          {events.length === 0 ? (
            <p className="empty">No confirmed events yet. An event is confirmed when f+1 cameras covering its zone report it.</p>
          ) : (
            <ol className="swarm-events" aria-label="Confirmed events">
              {events.map((ev) => (
                <li key={ev.id}>
                  <div>
                    <strong>{ev.cls}</strong> in {zones?.zones.find((z) => z.id === ev.zone)?.name ?? ev.zone} <span className="muted">{time(ev.startTs)}{ev.closed ? `–${time(ev.endTs)}` : ', ongoing'}</span>
                  </div>
                  <div className="muted">
                    confirmed by <span className="mono">{ev.confirmers.join(', ')}</span> (needs {ev.f + 1} of {ev.n})
                    {ev.disagreed.length > 0 && (
                      <>
                        {' '}· disagreed: <span className="mono">{ev.disagreed.join(', ')}</span>
                      </>
                    )}
                    {ev.flagged.length > 0 && <> · flagged: {ev.flagged.join(', ')}</>}
                  </div>
                </li>
              ))}
            </ol>
          )}
        </section>

        <section aria-labelledby="swarm-insights-h">
          <h2 id="swarm-insights-h">Insights</h2>
          {!insights || insights.patterns.length === 0 ? (
            <p className="muted">No patterns in the coordinator's decisions so far.</p>
          ) : (
            <ul className="swarm-insights" aria-label="Insights">
              {insights.patterns.map((p) => (
                <li key={`${p.kind}:${p.subject}`}>
                  <div>{p.message}</div>
                  <div className="muted">Suggestion: {p.suggestion}</div>
                </li>
              ))}
            </ul>
          )}
          {insights && Object.keys(insights.byRule).length > 0 && (
            <p className="muted">
              Rules fired:{' '}
              {Object.entries(insights.byRule)
                .map(([r, n]) => `${r} ${n}`)
                .join(' · ')}
            </p>
          )}
        </section>
      </div>

      <Dialog.Root open={!!releasing} onOpenChange={(o) => !o && setReleasing(undefined)}>
        <Dialog.Portal>
          <Dialog.Overlay className="dialog-overlay" />
          <Dialog.Content className="dialog">
            <Dialog.Title>Release {releasing}?</Dialog.Title>
            <Dialog.Description>
              Its reports will count again. Release only after you have looked at the proof ({releasing && proofOf(releasing)?.reason}) and fixed the cause, e.g. redeployed the app.
            </Dialog.Description>
            <label className="stack">
              Note (optional)
              <textarea value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
            </label>
            <div className="dialog-actions">
              <Dialog.Close asChild>
                <button type="button" className="ghost">
                  Cancel
                </button>
              </Dialog.Close>
              <button type="button" className="primary" onClick={() => void release()}>
                Release camera
              </button>
            </div>
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>

      <Dialog.Root open={editZones !== undefined} onOpenChange={(o) => !o && setEditZones(undefined)}>
        <Dialog.Portal>
          <Dialog.Overlay className="dialog-overlay" />
          <Dialog.Content className="dialog swarm-zone-dialog">
            <Dialog.Title>Site zones</Dialog.Title>
            <Dialog.Description>
              Each zone: an id, a name, a ground polygon in metres ({'{x, y}'} points) and, for cameras without a ground calibration, the serials that cover it.
            </Dialog.Description>
            <label className="stack">
              Zones (JSON)
              <textarea className="mono" rows={14} value={editZones ?? ''} onChange={(e) => setEditZones(e.target.value)} spellCheck={false} />
            </label>
            <div className="dialog-actions">
              <Dialog.Close asChild>
                <button type="button" className="ghost">
                  Cancel
                </button>
              </Dialog.Close>
              <button type="button" className="primary" onClick={() => void saveZones()}>
                Save zones
              </button>
            </div>
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>
    </section>
  );
}
