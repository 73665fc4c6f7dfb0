import { useState, type FormEvent } from 'react';
import type { SearchHit } from '../../../../../preload/contract';
import { ErrorLine } from '../../../components/ErrorLine';
import { useAction } from '../../../data/useAction';
import { transport } from '../../../transport';
import { when } from '../parts';

export function SearchPanel({ roomId, onJump }: { roomId: string; onJump: (hit: SearchHit) => void }) {
  const [query, setQuery] = useState('');
  const [all, setAll] = useState(false);
  const [hits, setHits] = useState<SearchHit[] | undefined>();
  const search = useAction(async () => setHits((await transport().call('rooms.search', { query, limit: 50, ...(all ? {} : { roomId }) })).hits));
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (query.trim()) void search.run();
  };
  return (
    <div className="search">
      <form className="inline" role="search" onSubmit={submit}>
        <input type="search" aria-label="Search messages and decisions" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Words, or the start of one" />
        <button type="submit" disabled={search.pending}>
          Search
        </button>
      </form>
      <label className="small muted">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> every room
      </label>
      <ErrorLine error={search.error} />
      {hits && hits.length === 0 && <p className="empty small">Nothing matches. Try fewer or shorter words.</p>}
      {hits && hits.length > 0 && (
        <ul className="hits" aria-label="Search results">
          {hits.map((h) => (
            <li key={`${h.kind}-${h.id}`}>
              <button type="button" className="hit" onClick={() => onJump(h)}>
                <span className="small muted">
                  {h.kind === 'decision' ? 'decision' : `#${h.id}`} · {when(h.createdAt)}
                  {h.roomId !== roomId ? ` · ${h.roomId}` : ''}
                </span>
                <span className="hit-snippet">{h.snippet}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
