import { useEffect, useState } from 'react';
import { ErrorLine } from '../../../components/ErrorLine';
import { useAction } from '../../../data/useAction';
import { useQuery } from '../../../data/useQuery';
import { transport } from '../../../transport';
import { when } from '../parts';

export function SummaryPanel({ roomId }: { roomId: string }) {
  const q = useQuery('assist.summary.get', { roomId }, { apply: { 'assist.summary.done': (prev, d) => (d.roomId === roomId ? d.summary : prev) } });
  const summary = q.data ?? null;
  const [streaming, setStreaming] = useState<string | null>(null);
  useEffect(() => {
    setStreaming(null);
    const offs = [
      // Each delta carries the text so far, so a missed delta never leaves a gap.
      transport().on('assist.summary.delta', (d) => d.roomId === roomId && setStreaming(d.text)),
      transport().on('assist.summary.done', (d) => d.roomId === roomId && setStreaming(null)),
    ];
    return () => offs.forEach((off) => off());
  }, [roomId]);
  const run = useAction(async () => {
    const s = await transport().call('assist.summary.run', { roomId, extractiveOnly: false });
    q.apply(() => s);
    setStreaming(null);
  });

  return (
    <div className="summary">
      <div className="files-head">
        <span className="small muted">
          {summary
            ? `${summary.source === 'model' ? `Written by ${summary.model ?? 'Claude'}` : 'Extractive'} · ${summary.messageCount} messages · ${when(summary.createdAt)}`
            : 'Made automatically after 50 new messages, or now.'}
        </span>
        <button type="button" onClick={() => void run.run()} disabled={run.pending}>
          {run.pending ? 'Summarising…' : 'Summarise now'}
        </button>
      </div>
      <ErrorLine error={run.error ?? q.error} />
      {summary?.note && <p className="small muted">{summary.note}</p>}
      {streaming !== null ? (
        <pre className="summary-text streaming" aria-live="polite" aria-busy="true">
          {streaming}
        </pre>
      ) : summary ? (
        <pre className="summary-text">{summary.text}</pre>
      ) : (
        <p className="empty small">No summary yet. With an Anthropic API key saved it is written by Claude as you watch; without one it lists decisions, action items and open questions.</p>
      )}
    </div>
  );
}
