// The Performance view: the health score and why, what limits the fleet, and charts per camera
// (named, in the same colour everywhere, lines switched from the legend) over a chosen range.
import { useState } from 'react';
import type { MethodOutput, PerfAlert } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useFetch, useQuery } from '../../data/useQuery';
import { useCameraNames } from '../../stores/cameraNames';
import { byCameraName, cameraColour, cameraLabel, nameCameras } from '../../stores/cameraNamesCore';
import { transport } from '../../transport';
import { Chart, type ChartLine } from './Chart';
import { bottleneckSummary, fleetTotal, RANGES, rows, scoreReasons } from './series';
import './performance.css';

type Bottlenecks = MethodOutput<'perf.bottlenecks'>['bottlenecks'];
type Series = MethodOutput<'perf.series'>;
type Metric = Series['metric'];

// The metrics are sampled every 5 s and no event says a sample was taken: read them that often.
const REFRESH_MS = 5_000;
const CHARTED: Metric[] = ['inference_ms', 'fps_camera', 'fps_processed', 'fps_skipped', 'bandwidth_bytes_per_s', 'fusion_latency_us', 'event_loop_delay_ms'];
const levers: Record<Bottlenecks[number]['lever'], string> = { lower_fps: 'Lower the frame rate', smaller_model: 'Use a smaller model', fewer_streams: 'Watch fewer streams' };
const FIXED = Array.from({ length: 8 }, (_, i) => `var(--chart-${i + 1})`);

export function PerformanceView() {
  const [rangeMs, setRangeMs] = useState<number>(15 * 60_000);
  const healthQ = useQuery('perf.health', {}, {
    pollMs: REFRESH_MS,
    patch: { 'perf.alert': (h, a: PerfAlert) => (h && !h.alerts.some((x) => x.id === a.id) ? { ...h, alerts: [a, ...h.alerts] } : h) },
  });
  const bottlenecksQ = useQuery('perf.bottlenecks', {}, { pollMs: REFRESH_MS });
  const seriesQ = useFetch(
    async () => Object.fromEntries((await Promise.all(CHARTED.map((metric) => transport().call('perf.series', { metric, sinceMs: rangeMs })))).map((x) => [x.metric, x])) as Partial<Record<Metric, Series>>,
    `series ${rangeMs}`,
    { pollMs: REFRESH_MS },
  );
  const names = useCameraNames();
  const health = healthQ.data;
  const bottlenecks = bottlenecksQ.data?.bottlenecks ?? [];
  const series = seriesQ.data ?? {};
  const error = healthQ.error ?? bottlenecksQ.error ?? seriesQ.error;

  // Every camera any chart knows, so a camera has one colour across the charts.
  const allCams = [...new Set(CHARTED.flatMap((m) => series[m]?.lines.map((l) => l.label) ?? []))];
  const camLines = (keys: string[]): ChartLine[] => byCameraName(keys, names).map((k) => ({ key: k, label: cameraLabel(k, names), colour: cameraColour(k, allCams) }));
  const fixedLines = (keys: string[]): ChartLine[] => keys.map((k, i) => ({ key: k, label: k, colour: FIXED[i % FIXED.length]! }));

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
  const fusion = rows(series.fusion_latency_us?.lines);
  const loop = rows(series.event_loop_delay_ms?.lines);
  const score = health ? Math.round(health.score) : undefined;
  const scoreClass = score === undefined ? '' : score >= 90 ? 'ok' : score >= 70 ? 'warn' : 'bad';
  const reasons = scoreReasons(health?.budgets ?? []);
  const summary = bottleneckSummary(bottlenecks, health?.budgets ?? [], score);

  return (
    <section className="view performance">
      <header className="view-header">
        <h1>Performance</h1>
        <p className="muted">How healthy the fleet is, what limits it, and what to change. Updated every 5 s.</p>
      </header>
      <ErrorLine error={error} className="error" />

      <div className="perf-top">
        <div className={`perf-score ${scoreClass}`} role="meter" aria-label="Health score" aria-valuemin={0} aria-valuemax={100} aria-valuenow={score ?? 0}>
          <span className="perf-score-value">{score ?? '—'}</span>
          <span className="muted">health score / 100</span>
        </div>
        <div className="perf-why" aria-label="Why this score">
          {reasons.length ? (
            <ul>
              {reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          ) : (
            <p className="muted">{health ? 'Every objective is within its error budget.' : ''}</p>
          )}
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
                  {b.description} <span className="muted nowrap">({(b.objective * 100).toFixed(1)} %)</span>
                </td>
                <td className="num">
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
            <p className="muted">None firing. Fast burn pages at 14.4× over 1 h and 5 min, once 5 min have been measured; slow burn at 6× over 6 h and 30 min, once 30 min have.</p>
          ) : (
            <ul className="perf-alerts" aria-label="Alerts">
              {health.alerts.map((a) => (
                <li key={a.id}>
                  <span className={`badge sev-${a.severity}`}>{a.kind.replace('_', ' ')}</span> {nameCameras(a.message, names)}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="perf-bottlenecks-h">
          <h2 id="perf-bottlenecks-h">Bottlenecks</h2>
          <p className={bottlenecks.length ? '' : 'muted'}>{summary}</p>
          {bottlenecks.length > 0 && (
            <ul className="perf-alerts" aria-label="Bottlenecks">
              {bottlenecks.map((b) => (
                <li key={`${b.stage}:${b.subject}`}>
                  <strong>{nameCameras(b.subject, names)}</strong> ({b.stage.replace('_', ' ')}, {(b.utilisation * 100).toFixed(0)} % busy, queue {b.queueGrowthPerMin >= 0 ? '+' : ''}
                  {b.queueGrowthPerMin.toFixed(1)}/min) — <span className="perf-lever">{levers[b.lever]}</span>
                  <div className="muted">{nameCameras(b.message, names)}</div>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      <div className="perf-range" role="group" aria-label="Time range">
        <span className="muted">Charts over the last</span>
        {RANGES.map((r) => (
          <button key={r.ms} type="button" aria-pressed={rangeMs === r.ms} onClick={() => setRangeMs(r.ms)}>
            {r.label}
          </button>
        ))}
      </div>
      <div className="perf-charts">
        <Chart
          title="Inference per camera"
          unit="ms"
          data={inference.data}
          lines={camLines(inference.keys)}
          rangeMs={rangeMs}
          refs={[
            { y: 50, label: 'warn 50 ms', colour: 'var(--warn)' },
            { y: 100, label: 'error 100 ms', colour: 'var(--danger)' },
          ]}
        />
        <Chart title="Frames, whole fleet" unit="fps" data={fpsData} lines={fixedLines(['camera', 'processed', 'skipped'])} rangeMs={rangeMs} />
        <Chart title="Bandwidth per camera" unit="KiB/s" data={bwKb} lines={camLines(bandwidth.keys)} rangeMs={rangeMs} />
        <Chart title="Fusion latency" unit="µs per report" data={fusion.data} lines={fixedLines(fusion.keys)} rangeMs={rangeMs} refs={[{ y: 1000, label: '1 ms objective', colour: 'var(--warn)' }]} />
        <Chart title="Event-loop delay" unit="ms, p99" data={loop.data} lines={fixedLines(loop.keys)} rangeMs={rangeMs} refs={[{ y: 100, label: '100 ms', colour: 'var(--warn)' }]} />
      </div>
    </section>
  );
}
