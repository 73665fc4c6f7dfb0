// The Security view: refused connections, bad tokens, rejected input, quarantines and deploys.
// Repeats of one thing from one source are one row (a flood of thousands is one line with a
// count), resolved together; a single event is shown as itself.
import { Fragment, useState } from 'react';
import type { AuditEvent, AuditGroup } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { ConfirmDialog } from '../../components/Modal';
import { useAction } from '../../data/useAction';
import { useQuery } from '../../data/useQuery';
import { useCameraNames } from '../../stores/cameraNames';
import { nameCameras } from '../../stores/cameraNamesCore';
import { transport } from '../../transport';
import { EventRow, Source, WithFingerprints } from './EventRow';
import { bulkLabel, groupSpan } from './securityCore';

type Severity = AuditEvent['severity'];
const severities: Severity[] = ['critical', 'warning', 'info'];
const changes = ['audit.recorded', 'audit.resolved'] as const;

export function SecurityView() {
  const [severity, setSeverity] = useState<Severity | ''>('');
  const [status, setStatus] = useState<'open' | 'resolved' | 'all'>('open');
  const [kind, setKind] = useState('');
  const [text, setText] = useState('');
  const [grouped, setGrouped] = useState(true);
  const [expanded, setExpanded] = useState<string>();
  const [resolving, setResolving] = useState<AuditEvent>();
  const [bulk, setBulk] = useState<AuditGroup>();
  const [note, setNote] = useState('');
  const names = useCameraNames();
  const filter = { status, ...(severity ? { severity } : {}), ...(kind ? { kind } : {}), ...(text ? { text } : {}) };
  // A flood records many events a second: the lists are read again at most once a second.
  const opts = { refreshOn: changes, minIntervalMs: 1000 };
  const counts = useQuery('audit.counts', {}, opts);
  const list = useQuery('audit.list', { ...filter, limit: 200 }, opts);
  const groups = useQuery('audit.groups', { ...filter, limit: 200 }, { ...opts, enabled: grouped });
  const [gKind, gSource] = expanded ? (JSON.parse(expanded) as [string, string]) : ['', ''];
  const members = useQuery('audit.list', { ...filter, kind: gKind, source: gSource, limit: 200 }, { ...opts, enabled: !!expanded });

  const resolveOne = useAction(async (ev: AuditEvent) => {
    await transport().call('audit.resolve', { id: ev.id, ...(note ? { note } : {}) });
    setResolving(undefined);
    setNote('');
  });
  const resolveGroup = useAction(async (g: AuditGroup) => {
    await transport().call('audit.resolveMany', { kind: g.kind, source: g.source, upToId: g.latestId, ...(note ? { note } : {}) });
    setBulk(undefined);
    setNote('');
  });

  const events = list.data?.events ?? [];
  const byId = new Map(events.map((e) => [e.id, e]));
  const c = counts.data;
  const onResolve = (ev: AuditEvent): void => {
    resolveOne.clear();
    setResolving(ev);
  };

  const header = (
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
  );

  return (
    <section className="view security">
      <header className="view-header">
        <h1>Security</h1>
        <p className="muted">Refused connections, bad tokens, rejected input, quarantined cameras and deploys.</p>
      </header>

      {c && (
        <ul className="stat-row" aria-label="Counts">
          <li>
            <span className="stat-value">{c.open}</span> open
          </li>
          {severities.map((s) => (
            <li key={s} className={`sev-${s}`}>
              <span className="stat-value">{c.bySeverity[s] ?? 0}</span> {s}
            </li>
          ))}
          <li>
            <span className="stat-value">{c.total}</span> in all
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
            {Object.entries(c?.byKind ?? {}).map(([k, n]) => (
              <option key={k} value={k}>
                {k} ({n})
              </option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="Search" title="Matches source, message and detail" />
        </label>
        <label className="check">
          <input type="checkbox" checked={grouped} onChange={(e) => setGrouped(e.target.checked)} /> Group repeats
        </label>
      </div>

      <ErrorLine error={list.error ?? groups.error ?? counts.error} className="error" />

      {events.length === 0 ? (
        <p className="empty">{status === 'open' ? 'Nothing to review. Refused connections and rejected input will appear here.' : 'No events match these filters.'}</p>
      ) : grouped && groups.data ? (
        <table className="table" aria-label="Audit events">
          <caption className="sr-only">
            {groups.data.groups.length} of {groups.data.total} groups of events
          </caption>
          {header}
          <tbody>
            {groups.data.groups.map((g) => {
              const key = JSON.stringify([g.kind, g.source]);
              const single = g.count === 1 ? byId.get(g.latestId) : undefined;
              if (single) return <EventRow key={key} ev={single} names={names} onResolve={onResolve} />;
              const open = expanded === key;
              return (
                <Fragment key={key}>
                  <tr className="group-row">
                    <td className="nowrap">{groupSpan(g)}</td>
                    <td>
                      <span className={`badge sev-${g.severity}`}>{g.severity}</span>
                    </td>
                    <td>
                      <code>{g.kind}</code> <span className="badge">×{g.count}</span>
                    </td>
                    <td>
                      <Source source={g.source} names={names} />
                    </td>
                    <td className="wrap-anywhere">
                      <WithFingerprints text={nameCameras(g.message, names)} />
                      <div>
                        <button type="button" className="link" aria-expanded={open} onClick={() => setExpanded(open ? undefined : key)}>
                          {open ? 'Hide the events' : `Show the ${g.count} events`}
                        </button>
                      </div>
                    </td>
                    <td>
                      {g.open > 0 && (
                        <button
                          type="button"
                          onClick={() => {
                            resolveGroup.clear();
                            setBulk(g);
                          }}
                          aria-label={bulkLabel(g)}
                        >
                          Resolve {g.open}
                        </button>
                      )}
                    </td>
                  </tr>
                  {open && members.data?.events.map((ev) => <EventRow key={ev.id} ev={ev} names={names} onResolve={onResolve} />)}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      ) : (
        <table className="table" aria-label="Audit events">
          <caption className="sr-only">
            {events.length} of {list.data?.total ?? 0} events
          </caption>
          {header}
          <tbody>
            {events.map((ev) => (
              <EventRow key={ev.id} ev={ev} names={names} onResolve={onResolve} />
            ))}
          </tbody>
        </table>
      )}

      <ConfirmDialog
        open={!!resolving}
        onOpenChange={(o) => !o && setResolving(undefined)}
        title="Mark resolved"
        description={resolving ? nameCameras(resolving.message, names) : ''}
        confirmLabel="Mark resolved"
        pending={resolveOne.pending}
        error={resolveOne.error}
        onConfirm={() => resolving && void resolveOne.run(resolving)}
      >
        <label className="stack">
          Note (optional)
          <textarea value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
        </label>
      </ConfirmDialog>
      <ConfirmDialog
        open={!!bulk}
        onOpenChange={(o) => !o && setBulk(undefined)}
        title={bulk ? `${bulkLabel(bulk)}?` : ''}
        description={bulk ? `From ${bulk.source}, ${groupSpan(bulk)}. Events that arrive from now on stay open.` : ''}
        confirmLabel="Resolve them"
        pending={resolveGroup.pending}
        error={resolveGroup.error}
        onConfirm={() => bulk && void resolveGroup.run(bulk)}
      >
        <label className="stack">
          Note (optional)
          <textarea value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
        </label>
      </ConfirmDialog>
    </section>
  );
}
