import { AlertTriangle } from 'lucide-react';
import type { Decision } from '../../../../../preload/contract';
import { ME, when } from '../parts';


export function DecisionsPanel({ decisions }: { decisions: Decision[] }) {
  if (!decisions.length) return <p className="empty small">No decisions yet. A proposal that passes becomes a decision here, with its vote record.</p>;
  return (
    <ul className="decisions" aria-label="Decisions">
      {decisions.map((d) => (
        <li key={d.id} className="decision" aria-label={`Decision ${d.id}: ${d.title}`}>
          <div>
            <strong>{d.title}</strong> <span className="muted small">{when(d.decidedAt)}</span>
          </div>
          <div className="small">
            <span className="muted">{d.subject}:</span> {d.outcome}
          </div>
          {d.warning && (
            <p className="contradiction small" role="note">
              <AlertTriangle size={12} aria-hidden="true" /> {d.warning}
            </p>
          )}
          <div className="small muted">
            {d.rule} · {d.tally.yes} yes, {d.tally.no} no, {d.tally.abstain} abstain of {d.tally.eligible}
          </div>
          <ul className="vote-record small">
            {d.votes.map((v) => (
              <li key={v.memberId}>
                {v.memberId === ME ? 'You' : v.name}: <span className={`c-${v.choice}`}>{v.choice}</span>
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}
