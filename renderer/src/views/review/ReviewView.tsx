// Event review: confirmed events, newest first, each with the snapshot every confirming camera took
// at confirmation. Filter by zone, class, camera and reviewed state; move with ↑/↓ (or j/k), mark
// with R, open the Timeline at that moment with T.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { ReviewItem } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useAction } from '../../data/useAction';
import { useQuery } from '../../data/useQuery';
import { useCameraNames } from '../../stores/cameraNames';
import { byCameraName, cameraLabel } from '../../stores/cameraNamesCore';
import { useNav } from '../../stores/nav';
import { transport } from '../../transport';
import { moveSelection, span } from './reviewCore';
import { Snapshot } from './Snapshot';
import './review.css';

type Reviewed = 'all' | 'reviewed' | 'unreviewed';

export function ReviewView() {
  const [zone, setZone] = useState('');
  const [cls, setCls] = useState('');
  const [camera, setCamera] = useState('');
  const [reviewed, setReviewed] = useState<Reviewed>('unreviewed');
  const [selected, setSelected] = useState<number>();
  const names = useCameraNames();
  const showTimelineAt = useNav((s) => s.showTimelineAt);
  const input = { reviewed, limit: 100, ...(zone ? { zone } : {}), ...(cls ? { cls } : {}), ...(camera ? { camera } : {}) };
  const q = useQuery('review.list', input, {
    // A new event, a picture taken, a mark: the list is read again (at most once a second).
    refreshOn: ['review.item'],
    minIntervalMs: 1000,
  });
  const items = useMemo(() => q.data?.items ?? [], [q.data]);
  const zoneNames = useQuery('swarm.zones', {}, { apply: { 'swarm.zones': (_p, z) => z } });
  const zoneName = (id: string): string => zoneNames.data?.zones.find((z) => z.id === id)?.name ?? id;
  const mark = useAction(async (ids: number[], value: boolean) => {
    await transport().call('review.mark', { ids, reviewed: value });
    q.refresh();
  });
  const listRef = useRef<HTMLOListElement>(null);

  // The selection stays on an item that is listed.
  useEffect(() => {
    if (selected !== undefined && !items.some((i) => i.id === selected)) setSelected(items[0]?.id);
  }, [items, selected]);
  useEffect(() => {
    if (selected !== undefined) listRef.current?.querySelector(`[data-id="${selected}"]`)?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);

  const current = items.find((i) => i.id === selected);
  const onKey = (e: KeyboardEvent<HTMLOListElement>): void => {
    const next = moveSelection(
      items.map((i) => i.id),
      selected,
      e.key,
    );
    if (next !== undefined) {
      setSelected(next);
      e.preventDefault();
      return;
    }
    if (!current) return;
    if (e.key === 'r' || e.key === ' ') {
      void mark.run([current.id], current.reviewedAt === null);
      e.preventDefault();
    } else if (e.key === 't' || e.key === 'Enter') {
      showTimelineAt(current.startTs);
      e.preventDefault();
    }
  };
  const unreviewedShown = items.filter((i) => i.reviewedAt === null).map((i) => i.id);

  return (
    <section className="view review">
      <header className="view-header">
        <h1>Review</h1>
        <p className="muted">
          Confirmed events with a snapshot from each camera that confirmed them. ↑/↓ or J/K to move, R to mark reviewed, T to open the Timeline at that moment.
          {q.data ? ` ${q.data.unreviewed} not reviewed yet.` : ''}
        </p>
      </header>
      <div className="filters" role="search">
        <label>
          Shown
          <select value={reviewed} onChange={(e) => setReviewed(e.target.value as Reviewed)}>
            <option value="unreviewed">Not reviewed</option>
            <option value="reviewed">Reviewed</option>
            <option value="all">All</option>
          </select>
        </label>
        <label>
          Zone
          <select value={zone} onChange={(e) => setZone(e.target.value)}>
            <option value="">Any</option>
            {q.data?.facets.zones.map((z) => (
              <option key={z} value={z}>
                {zoneName(z)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Class
          <select value={cls} onChange={(e) => setCls(e.target.value)}>
            <option value="">Any</option>
            {q.data?.facets.classes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Camera
          <select value={camera} onChange={(e) => setCamera(e.target.value)}>
            <option value="">Any</option>
            {byCameraName(q.data?.facets.cameras ?? [], names).map((c) => (
              <option key={c} value={c}>
                {cameraLabel(c, names)}
              </option>
            ))}
          </select>
        </label>
        {unreviewedShown.length > 0 && (
          <button type="button" disabled={mark.pending} onClick={() => void mark.run(unreviewedShown, true)}>
            Mark the {unreviewedShown.length} shown reviewed
          </button>
        )}
      </div>
      <ErrorLine error={q.error ?? mark.error} className="error" />
      {items.length === 0 ? (
        <p className="empty">
          {q.loading
            ? 'Loading…'
            : reviewed === 'unreviewed' && !zone && !cls && !camera
              ? 'Nothing to review. Events appear here when the swarm confirms them (f+1 cameras covering a zone agree).'
              : 'No event matches these filters.'}
        </p>
      ) : (
        <ol className="review-list" aria-label="Events to review" tabIndex={0} ref={listRef} onKeyDown={onKey} aria-activedescendant={selected !== undefined ? `review-${selected}` : undefined}>
          {items.map((item) => (
            <Row key={item.id} item={item} selected={item.id === selected} names={names} zoneName={zoneName} onSelect={() => setSelected(item.id)} onMark={(v) => void mark.run([item.id], v)} onTimeline={() => showTimelineAt(item.startTs)} />
          ))}
        </ol>
      )}
    </section>
  );
}

function Row(p: { item: ReviewItem; selected: boolean; names: ReturnType<typeof useCameraNames>; zoneName: (id: string) => string; onSelect: () => void; onMark: (v: boolean) => void; onTimeline: () => void }) {
  const { item } = p;
  return (
    <li id={`review-${item.id}`} data-id={item.id} className={`review-item${p.selected ? ' selected' : ''}${item.reviewedAt ? ' done' : ''}`} aria-selected={p.selected} onClick={p.onSelect}>
      <div className="review-head">
        <strong>
          {item.cls} in {p.zoneName(item.zone)}
        </strong>
        <span className="muted">{span(item)}</span>
        <span className="muted">confirmed by {item.confirmers.map((c) => cameraLabel(c, p.names)).join(', ')}</span>
        <span className="spacer" />
        <button type="button" onClick={p.onTimeline} aria-label={`Open the Timeline at event ${item.id}`}>
          Timeline
        </button>
        <label className="check">
          <input type="checkbox" checked={item.reviewedAt !== null} onChange={(e) => p.onMark(e.target.checked)} aria-label={`Event ${item.id} reviewed`} /> Reviewed
        </label>
      </div>
      <div className="review-snaps">
        {item.snapshots.map((s) => (
          <Snapshot key={s.camera} snap={s} label={cameraLabel(s.camera, p.names)} />
        ))}
      </div>
    </li>
  );
}
