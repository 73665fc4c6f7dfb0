// The side of the Swarm view: report counts, the verification mode, the chosen camera's link
// health, and the quarantined cameras with their proofs.
import type { MethodOutput, SwarmGraph } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useAction } from '../../data/useAction';
import { cameraLabel, type CameraNames } from '../../stores/cameraNamesCore';
import { transport } from '../../transport';
import { backlogNotes } from './backlog';

type Status = MethodOutput<'swarm.status'>;
type Mode = Status['mode'];
type GNode = SwarmGraph['nodes'][number];

const time = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour12: false });
/** The proof's reason names the report by its epoch milliseconds (exact, for the proof); people read a clock time. */
const readable = (q: { reason: string; ts: number }): string => q.reason.split(`at ${q.ts} `).join(`at ${time(q.ts)} `);
const modes: { id: Mode; label: string; hint: string }[] = [
  { id: 'strict', label: 'Strict', hint: 'refuse reports that fail a check and record why' },
  { id: 'permissive', label: 'Permissive', hint: 'refuse them too, but draw their boxes on the tile marked unverified' },
  { id: 'audit', label: 'Audit', hint: 'refuse them too, and keep each refused message in the audit log' },
];

const sentence = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;

export function SwarmSide(p: {
  status: Status | undefined;
  node: GNode | undefined;
  nodes: GNode[];
  names: CameraNames;
  zoneName: (id: string) => string;
  onSelect: (id: string | undefined) => void;
  onRelease: (camera: string) => void;
  onChanged: () => void;
}) {
  const { status, node, nodes, names, zoneName, onSelect } = p;
  const setMode = useAction(async (mode: Mode) => {
    await transport().call('swarm.setMode', { mode });
    p.onChanged();
  });
  const quarantined = status?.quarantined ?? [];
  const proofOf = (camera: string) => quarantined.find((q) => q.camera === camera);
  const setReleasing = p.onRelease;
  return (
    <>
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
          {backlogNotes(status.backlog).map((n) => (
            <li key={n.key} className="sev-warning" title={n.title} data-backlog={n.key}>
              <span className="stat-value">{n.value}</span> {n.label}
            </li>
          ))}
        </ul>
      )}
      <label className="stack">
        Verification mode
        <select aria-label="Verification mode" value={status?.mode ?? 'strict'} disabled={!status || setMode.pending} onChange={(e) => void setMode.run(e.target.value as Mode)}>
          {modes.map((m) => (
            <option key={m.id} value={m.id}>
              {m.label}
            </option>
          ))}
        </select>
        {/* The hint beside the choice, not in it: in the side panel's width the option text was cut mid-sentence. */}
        <span className="muted swarm-mode-hint">{sentence(modes.find((m) => m.id === (status?.mode ?? 'strict'))!.hint)}</span>
      </label>
      <ErrorLine error={setMode.error} />
      <label className="stack">
        Camera
        <select aria-label="Camera to show" value={node?.id ?? ''} onChange={(e) => onSelect(e.target.value || undefined)}>
          <option value="">{nodes.length ? 'Choose a camera…' : 'No camera yet'}</option>
          {nodes.map((n) => (
            <option key={n.id} value={n.id}>
              {cameraLabel(n.id, names)}
            </option>
          ))}
        </select>
      </label>

      {node ? (
        <div className="swarm-node" aria-live="polite">
          <h2>{cameraLabel(node.id, names)}</h2>
            <p className="mono muted small">{node.id}</p>
          <dl>
            <dt>Status</dt>
            <dd className={`swarm-status st-${node.status}`}>{node.status}</dd>
            <dt>Role</dt>
            <dd>{node.cluster ? `${node.head ? 'reference camera' : 'member'} of the ${zoneName(node.cluster.replace(/^cluster:/, ''))} group` : 'in the single group'}</dd>
            <dt>Zones</dt>
            <dd>{node.zones.map(zoneName).join(', ') || 'none'}</dd>
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
              <span className="sev-critical">{readable(proofOf(node.id)!)}</span>{' '}
              <button type="button" onClick={() => setReleasing(node.id)} aria-label={`Release camera ${cameraLabel(node.id, names)} (selected)`}>
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
              <span className="badge sev-critical">quarantined</span> <strong>{cameraLabel(q.camera, names)}</strong> <span className="mono muted small">{q.camera}</span>
              <div className="muted">{readable(q)}</div>
              <details>
                <summary>Equivocation proof</summary>
                <p className="muted">Both messages are signed by the camera's recorded key; they cannot both be true.</p>
                <pre className="mono swarm-proof">{q.first}</pre>
                <pre className="mono swarm-proof">{q.second}</pre>
              </details>
              <button type="button" onClick={() => setReleasing(q.camera)} aria-label={`Release camera ${cameraLabel(q.camera, names)}`}>
                Release…
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
