// One chart: lines named and coloured per camera (the same colour in every chart), a legend whose
// entries switch their line off and on, and a time axis that fits the chosen range.
import { useState } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { timeTick } from './series';

export interface ChartLine {
  key: string;
  label: string;
  colour: string;
}

export function Chart({
  title,
  unit,
  data,
  lines,
  refs,
  domain,
  rangeMs,
}: {
  title: string;
  unit: string;
  data: Record<string, number>[];
  lines: ChartLine[];
  refs?: { y: number; label: string; colour: string }[];
  domain?: [number, number | 'auto'];
  rangeMs: number;
}) {
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const span = data.length > 1 ? data.at(-1)!.t! - data[0]!.t! : 0;
  // With only a point or two a line is too short to see: draw the points themselves.
  const dots = data.length < 3;
  const toggle = (k: string): void =>
    setHidden((h) => {
      const next = new Set(h);
      if (next.has(k)) next.delete(k);
      else next.add(k);
      return next;
    });
  const labelOf = new Map(lines.map((l) => [l.key, l.label]));
  const now = Date.now();
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
            <XAxis dataKey="t" type="number" domain={[Math.min(data[0]!.t!, now - rangeMs), 'dataMax']} tickFormatter={(t: number) => timeTick(t, Math.max(span, rangeMs))} stroke="var(--text-muted)" fontSize={11} />
            <YAxis stroke="var(--text-muted)" fontSize={11} width={48} domain={domain ?? [0, 'auto']} />
            <Tooltip
              labelFormatter={(t) => new Date(Number(t)).toLocaleTimeString()}
              formatter={(v, k) => [typeof v === 'number' ? v.toFixed(v < 10 ? 2 : 1) : String(v), labelOf.get(String(k)) ?? String(k)]}
              contentStyle={{ background: 'var(--bg-raised)', border: '1px solid var(--border)' }}
            />
            {refs?.map((r) => <ReferenceLine key={r.label} y={r.y} stroke={r.colour} strokeDasharray="4 3" label={{ value: r.label, fill: r.colour, fontSize: 10, position: 'insideTopRight' }} />)}
            {lines.map((l) => (
              <Line key={l.key} dataKey={l.key} name={l.label} stroke={l.colour} hide={hidden.has(l.key)} dot={dots ? { r: 3 } : false} isAnimationActive={false} strokeWidth={1.5} connectNulls />
            ))}
          </LineChart>
        </ResponsiveContainer>
      )}
      {lines.length > 1 && (
        <ul className="perf-legend" aria-label={`${title}: lines`}>
          {lines.map((l) => (
            <li key={l.key}>
              <button type="button" aria-pressed={!hidden.has(l.key)} onClick={() => toggle(l.key)} title={hidden.has(l.key) ? 'Show this line' : 'Hide this line'}>
                <span className="swatch" style={{ background: l.colour }} aria-hidden="true" />
                {l.label}
              </button>
            </li>
          ))}
          {hidden.size > 0 && (
            <li>
              <button type="button" className="link" onClick={() => setHidden(new Set())}>
                Show all
              </button>
            </li>
          )}
        </ul>
      )}
    </figure>
  );
}
