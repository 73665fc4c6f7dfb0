import * as Dialog from '@radix-ui/react-dialog';
import { useCallback, useEffect, useState } from 'react';
import type { AuditEvent, MethodOutput } from '../../../../preload/contract';
import { errorText, transport } from '../../transport';

type Counts = MethodOutput<'audit.counts'>;
type Severity = AuditEvent['severity'];
const severities: Severity[] = ['critical', 'warning', 'info'];

const time = (ts: number): string => new Date(ts).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export function SecurityView() {
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [total, setTotal] = useState(0);
  const [counts, setCounts] = useState<Counts>();
  const [severity, setSeverity] = useState<Severity | ''>('');
  const [status, setStatus] = useState<'open' | 'resolved' | 'all'>('open');
  const [kind, setKind] = useState('');
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const [resolving, setResolving] = useState<AuditEvent>();
  const [note, setNote] = useState('');

  const refresh = useCallback(async () => {
    try {
      const [list, c] = await Promise.all([
        transport().call('audit.list', { status, limit: 200, ...(severity ? { severity } : {}), ...(kind ? { kind } : {}), ...(text ? { text } : {}) }),
        transport().call('audit.counts', {}),
      ]);
      setEvents(list.events);
      setTotal(list.total);
      setCounts(c);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, [severity, status, kind, text]);

  useEffect(() => {
    void refresh();
    const offs = [transport().on('audit.recorded', () => void refresh()), transport().on('audit.resolved', () => void refresh())];
    return () => offs.forEach((off) => off());
  }, [refresh]);

  const resolve = async (): Promise<void> => {
    if (!resolving) return;
    try {
      await transport().call('audit.resolve', { id: resolving.id, ...(note ? { note } : {}) });
      setResolving(undefined);
      setNote('');
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section className="view security">
      <header className="view-header">
        <h1>Security</h1>
        <p className="muted">Refused connections, bad tokens, rejected input, quarantined cameras and deploys.</p>
      </header>

      {counts && (
        <ul className="stat-row" aria-label="Counts">
          <li>
            <span className="stat-value">{counts.open}</span> open
          </li>
          {severities.map((s) => (
            <li key={s} className={`sev-${s}`}>
              <span className="stat-value">{counts.bySeverity[s] ?? 0}</span> {s}
            </li>
          ))}
          <li>
            <span className="stat-value">{counts.total}</span> in all
          </li>
        </ul>
      )}

      <div className="filters" role="search">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="open">Open</option>
            <option value="resolved">Resolved</option>
            <option value="all">All</option>
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={(e) => setSeverity(e.target.value as Severity | '')}>
            <option value="">Any</option>
            {severities.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">Any</option>
            {Object.entries(counts?.byKind ?? {}).map(([k, n]) => (
              <option key={k} value={k}>
                {k} ({n})
              </option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="source, message, detail" />
        </label>
      </div>

      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}

      {events.length === 0 ? (
        <p className="empty">
          {status === 'open' ? 'Nothing to review. Refused connections and rejected input will appear here.' : 'No events match these filters.'}
        </p>
      ) : (
        <table className="table" aria-label="Audit events">
          <caption className="sr-only">
            {events.length} of {total} events
          </caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Severity</th>
              <th scope="col">Kind</th>
              <th scope="col">Source</th>
              <th scope="col">What happened</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {events.map((ev) => (
              <tr key={ev.id}>
                <td className="nowrap">{time(ev.ts)}</td>
                <td>
                  <span className={`badge sev-${ev.severity}`}>{ev.severity}</span>
                </td>
                <td>
                  <code>{ev.kind}</code>
                </td>
                <td className="mono">{ev.source}</td>
                <td>
                  {ev.message}
                  {Object.keys(ev.detail).length > 0 && (
                    <div className="detail mono">
                      {Object.entries(ev.detail)
                        .map(([k, v]) => `${k}=${String(v)}`)
                        .join('  ')}
                    </div>
                  )}
                  {ev.resolvedAt && <div className="muted">Resolved {time(ev.resolvedAt)}{ev.resolvedNote ? `: ${ev.resolvedNote}` : ''}</div>}
                </td>
                <td>
                  {!ev.resolvedAt && (
                    <button type="button" onClick={() => setResolving(ev)} aria-label={`Mark event ${ev.id} resolved`}>
                      Resolve
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <Dialog.Root open={!!resolving} onOpenChange={(o) => !o && setResolving(undefined)}>
        <Dialog.Portal>
          <Dialog.Overlay className="dialog-overlay" />
          <Dialog.Content className="dialog">
            <Dialog.Title>Mark resolved</Dialog.Title>
            <Dialog.Description>{resolving?.message}</Dialog.Description>
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
              <button type="button" className="primary" onClick={() => void resolve()}>
                Mark resolved
              </button>
            </div>
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>
    </section>
  );
}
