import { useCallback, useEffect, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { MethodOutput, PerfAlert } from '../../../../preload/contract';
import { errorText, transport } from '../../transport';
import { fleetTotal, rows, timeTick } from './series';
import './performance.css';

type Health = MethodOutput<'perf.health'>;
type Bottlenecks = MethodOutput<'perf.bottlenecks'>['bottlenecks'];
type Series = MethodOutput<'perf.series'>;
type Metric = Series['metric'];

const WINDOW_MS = 15 * 60_000;
const REFRESH_MS = 5_000;
// Theme tokens, so lines keep their contrast on the light background too.
const COLOURS = Array.from({ length: 8 }, (_, i) => `var(--chart-${i + 1})`);
const CHARTED: Metric[] = ['inference_ms', 'fps_camera', 'fps_processed', 'fps_skipped', 'bandwidth_bytes_per_s', 'fusion_latency_us', 'event_loop_delay_ms'];
const levers: Record<Bottlenecks[number]['lever'], string> = { lower_fps: 'Lower the frame rate', smaller_model: 'Use a smaller model', fewer_streams: 'Watch fewer streams' };

function Chart({ title, unit, data, keys, refs, domain }: { title: string; unit: string; data: Record<string, number>[]; keys: string[]; refs?: { y: number; label: string; colour: string }[]; domain?: [number, number | 'auto'] }) {
  const span = data.length > 1 ? data.at(-1)!.t! - data[0]!.t! : 0;
  // With only a point or two a line is too short to see: draw the points themselves.
  const dots = data.length < 3;
  return (
    <figure className="perf-chart" aria-label={title}>
      <figcaption>
        {title} <span className="muted">({unit})</span>
      </figcaption>
      {data.length === 0 ? (
        <p className="perf-nodata muted">Waiting for the first samples (one every 5 s)…</p>
      ) : (
        <ResponsiveContainer width="100%" height={200}>
          <LineChart data={data} margin={{ top: 6, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
            <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} tickFormatter={(t: number) => timeTick(t, span)} stroke="var(--text-muted)" fontSize={11} />
            <YAxis stroke="var(--text-muted)" fontSize={11} width={48} domain={domain ?? [0, 'auto']} />
            <Tooltip labelFormatter={(t) => new Date(Number(t)).toLocaleTimeString()} contentStyle={{ background: 'var(--bg-raised)', border: '1px solid var(--border)' }} />
            {keys.length > 1 && <Legend wrapperStyle={{ fontSize: 11 }} />}
            {refs?.map((r) => <ReferenceLine key={r.label} y={r.y} stroke={r.colour} strokeDasharray="4 3" label={{ value: r.label, fill: r.colour, fontSize: 10, position: 'insideTopRight' }} />)}
            {keys.map((k, i) => (
              <Line key={k} dataKey={k} stroke={COLOURS[i % COLOURS.length]} dot={dots ? { r: 3 } : false} isAnimationActive={false} strokeWidth={1.5} connectNulls />
            ))}
          </LineChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}

export function PerformanceView() {
  const [health, setHealth] = useState<Health>();
  const [bottlenecks, setBottlenecks] = useState<Bottlenecks>([]);
  const [series, setSeries] = useState<Partial<Record<Metric, Series>>>({});
  const [error, setError] = useState<string>();

  const refresh = useCallback(async () => {
    try {
      const [h, b, ...s] = await Promise.all([
        transport().call('perf.health', {}),
        transport().call('perf.bottlenecks', {}),
        ...CHARTED.map((metric) => transport().call('perf.series', { metric, sinceMs: WINDOW_MS })),
      ]);
      setHealth(h as Health);
      setBottlenecks((b as { bottlenecks: Bottlenecks }).bottlenecks);
      setSeries(Object.fromEntries((s as Series[]).map((x) => [x.metric, x])));
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, []);

  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), REFRESH_MS);
    const off = transport().on('perf.alert', (a: PerfAlert) => setHealth((h) => (h && !h.alerts.some((x) => x.id === a.id) ? { ...h, alerts: [a, ...h.alerts] } : h)));
    return () => {
      clearInterval(t);
      off();
    };
  }, [refresh]);

  const inference = rows(series.inference_ms?.lines);
  const fpsData = (() => {
    const m = new Map<number, Record<string, number>>();
    for (const [name, metric] of [['camera', 'fps_camera'], ['processed', 'fps_processed'], ['skipped', 'fps_skipped']] as const)
      for (const [t, v] of fleetTotal(series[metric]?.lines, REFRESH_MS)) {
        let r = m.get(t);
        if (!r) m.set(t, (r = { t }));
        r[name] = v;
      }
    return [...m.values()].sort((a, b) => a.t! - b.t!);
  })();
  const bandwidth = rows(series.bandwidth_bytes_per_s?.lines);
  const bwKb = bandwidth.data.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 't' ? v : Math.round(v / 10.24) / 100])));
  const fusion = rows(series.fusion_latency_us?.lines, false);
  const loop = rows(series.event_loop_delay_ms?.lines, false);
  const score = health ? Math.round(health.score) : undefined;
  const scoreClass = score === undefined ? '' : score >= 90 ? 'ok' : score >= 70 ? 'warn' : 'bad';

  return (
    <section className="view performance">
      <header className="view-header">
        <h1>Performance</h1>
        <p className="muted">How healthy the fleet is, what limits it, and what to change. Updated every 5 s.</p>
      </header>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      <div className="perf-top">
        <div className={`perf-score ${scoreClass}`} role="meter" aria-label="Health score" aria-valuemin={0} aria-valuemax={100} aria-valuenow={score ?? 0}>
          <span className="perf-score-value">{score ?? '—'}</span>
          <span className="muted">health score / 100</span>
        </div>
        <table className="table perf-budgets" aria-label="Error budgets">
          <thead>
            <tr>
              <th scope="col">Objective</th>
              <th scope="col">Budget left</th>
              <th scope="col">Burn 5 m / 1 h</th>
              <th scope="col">Burn 30 m / 6 h</th>
            </tr>
          </thead>
          <tbody>
            {(health?.budgets ?? []).map((b) => (
              <tr key={b.slo}>
                <td>
                  {b.description} <span className="muted">({(b.objective * 100).toFixed(1)} %)</span>
                </td>
                <td>
                  <span className="perf-bar" aria-hidden="true">
                    <span style={{ width: `${Math.max(0, Math.min(1, b.remaining)) * 100}%` }} className={b.remaining < 0.25 ? 'bad' : b.remaining < 0.6 ? 'warn' : 'ok'} />
                  </span>{' '}
                  {(b.remaining * 100).toFixed(0)} %
                </td>
                <td className="num">
                  {b.burn['5m'].toFixed(1)}× / {b.burn['1h'].toFixed(1)}×
                </td>
                <td className="num">
                  {b.burn['30m'].toFixed(1)}× / {b.burn['6h'].toFixed(1)}×
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <div className="perf-lists">
        <section aria-labelledby="perf-alerts-h">
          <h2 id="perf-alerts-h">Alerts</h2>
          {!health || health.alerts.length === 0 ? (
            <p className="muted">None firing. Fast burn pages at 14.4× over 1 h and 5 min; slow burn at 6× over 6 h and 30 min.</p>
          ) : (
            <ul className="perf-alerts" aria-label="Alerts">
              {health.alerts.map((a) => (
                <li key={a.id}>
                  <span className={`badge sev-${a.severity}`}>{a.kind.replace('_', ' ')}</span> {a.message}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="perf-bottlenecks-h">
          <h2 id="perf-bottlenecks-h">Bottlenecks</h2>
          {bottlenecks.length === 0 ? (
            <p className="muted">No stage is near saturation with a growing queue.</p>
          ) : (
            <ul className="perf-alerts" aria-label="Bottlenecks">
              {bottlenecks.map((b) => (
                <li key={`${b.stage}:${b.subject}`}>
                  <strong>{b.subject}</strong> ({b.stage.replace('_', ' ')}, {(b.utilisation * 100).toFixed(0)} % busy, queue {b.queueGrowthPerMin >= 0 ? '+' : ''}
                  {b.queueGrowthPerMin.toFixed(1)}/min) — <span className="perf-lever">{levers[b.lever]}</span>
                  <div className="muted">{b.message}</div>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      <div className="perf-charts">
        <Chart
          title="Inference per camera"
          unit="ms"
          data={inference.data}
          keys={inference.keys}
          refs={[
            { y: 50, label: 'warn 50 ms', colour: 'var(--warn)' },
            { y: 100, label: 'error 100 ms', colour: 'var(--danger)' },
          ]}
        />
        <Chart title="Frames, whole fleet" unit="fps" data={fpsData} keys={['camera', 'processed', 'skipped']} />
        <Chart title="Bandwidth per camera" unit="KiB/s" data={bwKb} keys={bandwidth.keys} />
        <Chart title="Fusion latency" unit="µs per report" data={fusion.data} keys={fusion.keys} refs={[{ y: 1000, label: '1 ms objective', colour: 'var(--warn)' }]} />
        <Chart title="Event-loop delay" unit="ms, p99" data={loop.data} keys={loop.keys} refs={[{ y: 100, label: '100 ms', colour: 'var(--warn)' }]} />
      </div>
    </section>
  );
}
