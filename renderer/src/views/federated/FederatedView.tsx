import * as Switch from '@radix-ui/react-switch';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import type { EventPayload, FederatedConfig, FederatedConfigPatch, FederatedModel, FederatedRound, MethodOutput } from '../../../../preload/contract';
import { useAction } from '../../data/useAction';
import { useFetch } from '../../data/useQuery';
import { errorText, transport } from '../../transport';
import './federated.css';

type Status = MethodOutput<'federated.status'>;
type Progress = EventPayload<'federated.round'>;
/** The control a refusal belongs to, so its message shows where the user clicked. */
type Field = 'aggregation' | 'secureGraph' | 'algorithm' | 'mu' | 'dp' | 'dpClip' | 'dpNoiseMultiplier' | 'dpDelta' | 'clientsPerRound' | 'start';

const modes: { value: FederatedConfig['aggregation']; label: string; hint: string }[] = [
  { value: 'secure', label: 'Secure aggregation', hint: 'the coordinator sees only the sum' },
  { value: 'robust-trimmed', label: 'Robust: trimmed mean', hint: 'sees each update, drops outliers per coordinate' },
  { value: 'robust-median', label: 'Robust: median', hint: 'sees each update, coordinate-wise median' },
  { value: 'krum', label: 'Robust: Krum', hint: 'sees each update, keeps the most central one' },
  { value: 'plain', label: 'Plain FedAvg', hint: 'sees each update, no protection' },
];
const modeLabel = (m: FederatedConfig['aggregation']): string => modes.find((x) => x.value === m)?.label ?? m;
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);
const num = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined ? '—' : v.toFixed(digits));
const eps = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v === Infinity ? '∞' : v.toFixed(2));

function Refusal({ field, refused }: { field: Field; refused?: { field: Field; message: string } }) {
  if (refused?.field !== field) return null;
  return (
    <p role="alert" className="error fed-refusal" id={`fed-refusal-${field}`}>
      {refused.message}
    </p>
  );
}

function NumberField(props: { id: string; label: string; value: number; step: number; min: number; max?: number; onCommit: (v: number) => void; hint?: ReactNode }) {
  const [text, setText] = useState(String(props.value));
  useEffect(() => setText(String(props.value)), [props.value]);
  const commit = (): void => {
    const v = Number(text);
    if (text.trim() !== '' && Number.isFinite(v) && v !== props.value) props.onCommit(v);
  };
  return (
    <label className="fed-field" htmlFor={props.id}>
      <span>{props.label}</span>
      <input
        id={props.id}
        type="number"
        step={props.step}
        min={props.min}
        max={props.max}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
      {props.hint && <small className="muted">{props.hint}</small>}
    </label>
  );
}

export function FederatedView() {
  const [progress, setProgress] = useState<Progress>();
  const [run, setRun] = useState<{ from: number; count: number }>();
  const [count, setCount] = useState(10);
  const [refused, setRefused] = useState<{ field: Field; message: string }>();
  const busy = useRef(false);
  // Read again when a round ends and when cameras come, go, or change state (how many are online).
  const data = useFetch(
    async () => {
      const [st, r, m] = await Promise.all([
        transport().call('federated.status', {}),
        transport().call('federated.rounds', { limit: 200 }),
        transport().call('federated.models', { limit: 50 }),
      ]);
      return { status: st, rounds: r.rounds, models: m.models };
    },
    'federated',
    {
      refreshOn: { 'federated.round': (p) => p.phase === 'completed' || p.phase === 'aborted' || p.phase === 'stopped', 'fleet.changed': () => true, 'fleet.cameraStatus': () => true },
      minIntervalMs: 2000,
    },
  );
  const status: Status | undefined = data.data?.status;
  const rounds: FederatedRound[] = data.data?.rounds ?? [];
  const models: FederatedModel[] = data.data?.models ?? [];
  const { refresh } = data;
  useEffect(() => transport().on('federated.round', (p) => setProgress(p)), []);
  const stopping = useAction(() => transport().call('federated.stop', {}));
  const resetting = useAction(async () => {
    await transport().call('federated.reset', {});
    refresh({ immediate: true });
  });
  const error = data.error ?? stopping.error ?? resetting.error;

  const set = async (patch: FederatedConfigPatch, field: Field): Promise<void> => {
    if (busy.current) return;
    busy.current = true;
    try {
      await transport().call('federated.config.set', patch);
      setRefused(undefined);
      refresh({ immediate: true });
    } catch (err) {
      setRefused({ field, message: errorText(err) });
    } finally {
      busy.current = false;
    }
  };

  const start = async (): Promise<void> => {
    try {
      const r = await transport().call('federated.start', { rounds: count });
      setRun({ from: r.fromRound, count: r.rounds });
      setRefused(undefined);
      setProgress(undefined);
      refresh();
    } catch (err) {
      setRefused({ field: 'start', message: errorText(err) });
    }
  };
  const stop = (): Promise<unknown> => stopping.run();

  if (!status) return <p className="empty">{error ?? 'Loading federated learning…'}</p>;
  const c = status.config;
  const dp = status.privacy;
  const running = status.running;
  const lineageRounds = rounds.filter((r) => r.lineage === status.lineage).reverse();
  // The desktop holds no data: a model's accuracy and loss are what the cameras report on their own held-out detections once they run it.
  const chart = models
    .filter((m) => m.lineage === status.lineage && m.accuracy !== null)
    .sort((a, b) => a.round - b.round)
    .map((m) => ({ round: m.round, accuracy: m.accuracy, loss: m.loss }));
  const done = run ? Math.max(0, Math.min(run.count, status.lastRound - run.from + 1)) : 0;

  return (
    <section className="view federated">
      <header className="view-header">
        <h1>Federated</h1>
        <p className="muted">
          Cameras train a shared confirmation head on their own detections and the desktop only adds up their masked updates; {status.camerasOnline} of {status.cameras} registered cameras are online and can be selected.
        </p>
      </header>

      <p className="fed-mode" role="status" aria-label="Aggregation in use">
        <span className={`badge ${c.aggregation === 'secure' ? 'fed-on' : 'fed-warn'}`}>{modeLabel(c.aggregation)}</span> {status.aggregationNote}
      </p>

      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      <div className="fed-grid">
        <fieldset className="fed-card" disabled={running}>
          <legend>Aggregation</legend>
          <div role="radiogroup" aria-label="Aggregation mode" className="fed-modes">
            {modes.map((m) => (
              <label key={m.value} className="fed-radio">
                <input type="radio" name="fed-aggregation" value={m.value} checked={c.aggregation === m.value} onChange={() => void set({ aggregation: m.value }, 'aggregation')} />
                <span>
                  {m.label} <small className="muted">— {m.hint}</small>
                </span>
              </label>
            ))}
          </div>
          <Refusal field="aggregation" refused={refused} />
          {c.aggregation === 'secure' && (
            <label className="fed-field" htmlFor="fed-graph">
              <span>Masking graph</span>
              <select id="fed-graph" value={c.secureGraph} onChange={(e) => void set({ secureGraph: e.target.value as FederatedConfig['secureGraph'] }, 'secureGraph')}>
                <option value="secagg+">SecAgg+ (about 4·log2 n neighbours each; the full graph up to 23 cameras)</option>
                <option value="full">Full graph (Bonawitz et al.)</option>
              </select>
            </label>
          )}
          <label className="fed-field" htmlFor="fed-algorithm">
            <span>Algorithm</span>
            <select id="fed-algorithm" value={c.algorithm} onChange={(e) => void set({ algorithm: e.target.value as FederatedConfig['algorithm'] }, 'algorithm')}>
              <option value="fedavg">FedAvg</option>
              <option value="fedprox">FedProx</option>
            </select>
          </label>
          {c.algorithm === 'fedprox' && <NumberField id="fed-mu" label="FedProx μ" value={c.mu} step={0.01} min={0} max={10} onCommit={(v) => void set({ mu: v }, 'mu')} />}
          <Refusal field="mu" refused={refused} />
          <NumberField id="fed-clients" label="Cameras per round" value={c.clientsPerRound} step={1} min={3} onCommit={(v) => void set({ clientsPerRound: v }, 'clientsPerRound')} />
          <Refusal field="clientsPerRound" refused={refused} />
        </fieldset>

        <fieldset className="fed-card" disabled={running}>
          <legend>Differential privacy</legend>
          <div className="fed-switch-row">
            <label htmlFor="fed-dp">Differential privacy</label>
            <Switch.Root
              id="fed-dp"
              className="switch"
              checked={c.dpEnabled}
              aria-describedby={refused?.field === 'dp' ? 'fed-refusal-dp' : undefined}
              onCheckedChange={(v) => void set({ dpEnabled: v }, 'dp')}
            >
              <Switch.Thumb className="switch-thumb" />
            </Switch.Root>
            <span className="muted">{c.dpEnabled ? 'On' : 'Off'}</span>
          </div>
          <Refusal field="dp" refused={refused} />
          {c.dpEnabled && (
            <>
              <div className="fed-row">
                <NumberField id="fed-clip" label="Clip (L2)" value={c.dpClip} step={0.1} min={0.001} onCommit={(v) => void set({ dpClip: v }, 'dpClip')} />
                <NumberField id="fed-noise" label="Noise multiplier σ" value={c.dpNoiseMultiplier} step={0.1} min={0.1} onCommit={(v) => void set({ dpNoiseMultiplier: v }, 'dpNoiseMultiplier')} />
                <NumberField id="fed-delta" label="δ" value={c.dpDelta} step={0.000001} min={0} max={0.01} onCommit={(v) => void set({ dpDelta: v }, 'dpDelta')} />
              </div>
              <Refusal field="dpClip" refused={refused} />
              <Refusal field="dpNoiseMultiplier" refused={refused} />
              <Refusal field="dpDelta" refused={refused} />
              <dl className="fed-budget" aria-label="Privacy budget">
                <div>
                  <dt>ε</dt>
                  <dd>{eps(dp.epsilon)}</dd>
                </div>
                <div>
                  <dt>δ</dt>
                  <dd>{dp.delta}</dd>
                </div>
                <div>
                  <dt>Level</dt>
                  <dd>per camera ({dp.level})</dd>
                </div>
              </dl>
              <p className="muted">{dp.note}</p>
              <p className="warn fed-dp-warning">
                With 5–100 cameras, a camera-level ε ≤ 10 costs a lot of noise: each camera’s whole contribution is protected, not one image, so expect lower accuracy than
                without privacy.
              </p>
            </>
          )}
          {!c.dpEnabled && <p className="muted">{dp.note}</p>}
        </fieldset>

        <div className="fed-card">
          <h2>Rounds</h2>
          <div className="fed-row">
            <label className="fed-field" htmlFor="fed-count">
              <span>Rounds to run</span>
              <input id="fed-count" type="number" min={1} max={1000} value={count} onChange={(e) => setCount(Math.max(1, Math.min(1000, Number(e.target.value) || 1)))} disabled={running} />
            </label>
            {running ? (
              <button type="button" onClick={() => void stop()}>
                Stop
              </button>
            ) : (
              <button type="button" className="primary" onClick={() => void start()}>
                Start
              </button>
            )}
            <button type="button" disabled={running} onClick={() => void resetting.run()}>
              New model
            </button>
          </div>
          <Refusal field="start" refused={refused} />
          {run && (
            <div className="fed-progress" aria-label="Progress">
              <progress max={run.count} value={done} aria-label={`${done} of ${run.count} rounds done`} />
              <span role="status">
                {running
                  ? `Round ${progress?.round ?? run.from} — ${progress?.phase ?? 'starting'}${progress?.selected ? `, ${progress.selected} cameras selected` : ''} (${done} of ${run.count} done)`
                  : `${done} of ${run.count} rounds done${progress?.phase === 'stopped' ? ' — stopped' : ''}`}
              </span>
            </div>
          )}
        </div>
      </div>

      {lineageRounds.length === 0 ? (
        <p className="empty">
          No rounds yet for this model. Choose the aggregation and privacy above, then press Start. At least 3 online cameras are needed ({status.camerasOnline} now); add cameras or turn
          on the simulated fleet in Settings.
        </p>
      ) : (
        <>
          <div className="fed-charts">
            <figure className="fed-card" aria-label="Accuracy chart">
              <figcaption>Accuracy of each round’s model on the cameras’ held-out detections (reported by the cameras running it){status.reference ? ` — dashed: centralised training on the same data (${pct(status.reference.accuracy)})` : ''}</figcaption>
              <LineChart width={520} height={220} data={chart} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
                <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
                <XAxis dataKey="round" stroke="var(--text-muted)" />
                <YAxis domain={[0, 1]} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} stroke="var(--text-muted)" />
                <Tooltip formatter={(v) => pct(Number(v))} />
                <Legend />
                <Line type="monotone" dataKey="accuracy" name="Federated accuracy" stroke="var(--accent)" dot={{ r: 2 }} isAnimationActive={false} />
                {status.reference && <ReferenceLine y={status.reference.accuracy} stroke="var(--ok)" strokeDasharray="6 4" label={{ value: 'centralised', fill: 'var(--ok)', position: 'insideBottomRight' }} />}
              </LineChart>
            </figure>
            <figure className="fed-card" aria-label="Loss chart">
              <figcaption>Held-out log-loss the cameras report{status.reference ? ` — dashed: centralised (${num(status.reference.loss)})` : ''}</figcaption>
              <LineChart width={520} height={220} data={chart} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
                <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
                <XAxis dataKey="round" stroke="var(--text-muted)" />
                <YAxis stroke="var(--text-muted)" />
                <Tooltip formatter={(v) => num(Number(v))} />
                <Legend />
                <Line type="monotone" dataKey="loss" name="Federated loss" stroke="var(--warn)" dot={{ r: 2 }} isAnimationActive={false} />
                {status.reference && <ReferenceLine y={status.reference.loss} stroke="var(--ok)" strokeDasharray="6 4" label={{ value: 'centralised', fill: 'var(--ok)', position: 'insideTopRight' }} />}
              </LineChart>
            </figure>
          </div>

          <h2>Round history</h2>
          <table className="table" aria-label="Rounds">
            <thead>
              <tr>
                <th scope="col">Round</th>
                <th scope="col">Selected</th>
                <th scope="col">Advertised keys</th>
                <th scope="col">Shared</th>
                <th scope="col">Masked input</th>
                <th scope="col">Unmasked</th>
                <th scope="col">Dropped out</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {[...lineageRounds].reverse().map((r) => (
                <tr key={r.round}>
                  <td title={r.detail?.id}>{r.round}</td>
                  <td title={r.selected.join(', ')}>{r.selected.length}</td>
                  <Who list={r.detail?.advertised} of={r.selected.length} extra={r.detail?.declined.length ? `${r.detail.declined.length} declined: ${r.detail.declined.map((d) => `${d.serial} (${d.reason})`).join(', ')}` : undefined} />
                  <Who list={r.detail?.shared} of={r.selected.length} />
                  <Who list={r.detail?.masked ?? r.participants} of={r.selected.length} />
                  <Who list={r.detail?.unmasked} of={r.selected.length} />
                  <td title={r.dropped.join(', ')}>{r.dropped.length ? r.dropped.join(', ') : '—'}</td>
                  <td>
                    {r.status === 'completed' ? <span className="badge fed-on">v{r.modelVersion}</span> : <span className="badge sev-warning" title={r.reason ?? undefined}>failed{r.detail?.failedAt ? ` at ${r.detail.failedAt}` : ''}</span>}
                    {r.reason && <div className="detail">{r.reason}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      <h2>Model versions</h2>
      {models.length === 0 ? (
        <p className="empty">No model versions yet. Each completed round stores one; a stored version can ship to the cameras with the next deploy.</p>
      ) : (
        <table className="table" aria-label="Model versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Round</th>
              <th scope="col">Mode</th>
              <th scope="col">Accuracy (cameras’ held-out data)</th>
              <th scope="col">Log-loss</th>
              <th scope="col">Reported by</th>
              <th scope="col">Hash (SHA-256)</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.version}>
                <td>v{m.version}</td>
                <td>{m.round}</td>
                <td>{modeLabel(m.aggregation)}</td>
                <td>{m.accuracy === null ? 'not reported yet' : pct(m.accuracy)}</td>
                <td>{num(m.loss)}</td>
                <td>{m.metricCameras ? `${m.metricCameras} cameras, ${m.metricSamples} detections` : '—'}</td>
                <td>
                  <code title={m.hash}>{m.hash.slice(0, 16)}…</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** How many cameras answered a phase, with their serials on hover. */
function Who({ list, of, extra }: { list: readonly string[] | undefined; of: number; extra?: string }) {
  if (!list) return <td>—</td>;
  return (
    <td title={[list.join(', '), extra].filter(Boolean).join(' · ')}>
      {list.length} of {of}
    </td>
  );
}
