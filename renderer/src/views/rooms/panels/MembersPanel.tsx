import type { Member } from '../../../../../preload/contract';
import { ME } from '../parts';


export function MembersPanel({ members }: { members: Member[] }) {
  if (!members.length) return <p className="empty small">No members yet. Agents join when they first post with a token; add people from the Agents view.</p>;
  return (
    <ul className="members" aria-label="Members">
      {members.map((m) => (
        <li key={m.id}>
          <span className={`presence presence-${m.presence}`} aria-label={m.presence} title={m.presence} />
          <span className="member-name">{m.id === ME ? 'You' : m.name}</span>
          <span className="muted small">{m.kind}</span>
          <span className="roles">
            {m.roles.map((r) => (
              <span key={r} className="role">
                {r}
              </span>
            ))}
          </span>
          {m.weight !== 1 && <span className="muted small" title="Voting weight, set by the owner">×{m.weight}</span>}
        </li>
      ))}
    </ul>
  );
}
