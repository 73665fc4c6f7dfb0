import type { Member, Room } from '../../../../../preload/contract';
import { ErrorLine } from '../../../components/ErrorLine';
import { useAction } from '../../../data/useAction';
import { transport } from '../../../transport';
import { ME } from '../parts';

export function MembersPanel({ members, room, onChanged }: { members: Member[]; room?: Room; onChanged?: (m: Member) => void }) {
  // Agents join without a vote; the room's owner gives (or takes) one here.
  const setVote = useAction(async (m: Member, canVote: boolean) => {
    onChanged?.(await transport().call('rooms.updateMember', { roomId: m.roomId, memberId: m.id, canVote }));
  });
  if (!members.length) return <p className="empty small">No members yet. Agents join when they first post with a token; add people from the Agents view.</p>;
  return (
    <>
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
            {!m.canVote && <span className="muted small">no vote</span>}
            {room?.owner === ME && m.id !== room.owner && (
              <button
                type="button"
                className="small"
                disabled={setVote.pending}
                onClick={() => void setVote.run(m, !m.canVote)}
                aria-label={`${m.canVote ? 'Take the vote of' : 'Give a vote to'} ${m.name}`}
              >
                {m.canVote ? 'Take vote' : 'Give vote'}
              </button>
            )}
          </li>
        ))}
      </ul>
      <ErrorLine error={setVote.error} />
    </>
  );
}
