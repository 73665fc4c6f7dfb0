import { useEffect, useRef, useState, type ReactNode } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import type { EventPayload, FederatedConfig, FederatedConfigPatch, FederatedModel, FederatedRound, MethodOutput } from '../../../../preload/contract';
import { useAction } from '../../data/useAction';
import { useFetch } from '../../data/useQuery';
import { errorText, transport } from '../../transport';
import { graphTitle, reportedBy, secs, setupText } from './federatedCore';
import './federated.css';

type Status = MethodOutput<'federated.status'>;
type Progress = EventPayload<'federated.round'>;
/** The control a refusal belongs to, so its message shows where the user clicked. */
type Field = keyof FederatedConfig | 'start';

/** How a stored round or model was aggregated (rows from before fl2 may name other modes). */
const modeLabels: Record<FederatedModel['aggregation'], string> = {
  secure: 'Secure aggregation',
  'robust-trimmed': 'Robust: trimmed mean',
  'robust-median': 'Robust: median',
  krum: 'Robust: Krum',
  plain: 'Plain FedAvg',
};
const modeLabel = (m: FederatedModel['aggregation']): string => modeLabels[m] ?? m;
const clock = (at: number): string => new Date(at).toLocaleTimeString();
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);
const num = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined ? '—' : v.toFixed(digits));

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
  // A setup runs in the background after each round (no event marks its end): read again until it is done.
  const settingUp = status?.setup.state === 'setting-up';
  useEffect(() => {
    if (!settingUp) return;
    const t = setTimeout(() => refresh({ immediate: true }), 1500);
    return () => clearTimeout(t);
  }, [settingUp, data.data, refresh]);
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
        <span className="badge fed-on">Secure aggregation (fl2)</span> {status.aggregationNote}
      </p>

      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      <div className="fed-grid">
        <fieldset className="fed-card" disabled={running}>
          <legend>Each round</legend>
          <NumberField id="fed-clients" label="Cameras per round" value={c.clientsPerRound} step={1} min={3} max={1000} onCommit={(v) => void set({ clientsPerRound: v }, 'clientsPerRound')} />
          <Refusal field="clientsPerRound" refused={refused} />
          <div className="fed-row">
            <NumberField id="fed-epochs" label="Local epochs" value={c.localEpochs} step={1} min={1} max={50} onCommit={(v) => void set({ localEpochs: v }, 'localEpochs')} />
            <NumberField id="fed-lr" label="Learning rate" value={c.learningRate} step={0.01} min={0.001} max={10} onCommit={(v) => void set({ learningRate: v }, 'learningRate')} />
            <NumberField id="fed-batch" label="Batch size" value={c.batchSize} step={1} min={1} max={4096} onCommit={(v) => void set({ batchSize: v }, 'batchSize')} />
          </div>
          <Refusal field="localEpochs" refused={refused} />
          <Refusal field="learningRate" refused={refused} />
          <Refusal field="batchSize" refused={refused} />
          <p className="muted">Each selected camera trains this many passes over its own labelled detections, from the announced model; the desktop averages the updates (FedAvg, every camera weighted equally).</p>
        </fieldset>

        <div className="fed-card fed-card-tall">
          <h2>Protocol and privacy</h2>
          <p role="status" aria-label="Next round setup" className={status.setup.state === 'failed' ? 'warn' : undefined}>
            {setupText(status.setup, clock)}
          </p>
          <p className="muted">{status.privacy.note}</p>
          <p className="muted">No differential-privacy noise is added (no ε is claimed), and robust aggregation is not used: it would need each camera’s update, which the desktop never receives.</p>
        </div>

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
          No rounds yet for this model. Choose the cameras per round and their training above, then press Start. At least 3 online cameras are needed ({status.camerasOnline} now); add cameras or turn
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
                <th scope="col">Setup (ahead)</th>
                <th scope="col">Round (go → result)</th>
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
                  <td title={r.detail?.graph ? graphTitle(r.detail.graph, r.selected.length) : undefined}>{secs(r.detail?.setupMs)}</td>
                  <td title={r.detail?.phaseMs ? Object.entries(r.detail.phaseMs).map(([k, v]) => `${k} ${secs(v)}`).join(', ') : undefined}>{secs(r.detail?.roundMs)}</td>
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
                <td>{m.metricCameras ? reportedBy(m.metricCameras, m.metricSamples) : '—'}</td>
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
