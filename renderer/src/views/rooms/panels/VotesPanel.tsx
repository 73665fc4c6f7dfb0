import type { Member, Proposal, Room } from '../../../../../preload/contract';
import { ErrorLine } from '../../../components/ErrorLine';
import { useAction } from '../../../data/useAction';
import { transport } from '../../../transport';
import { Countdown, ME } from '../parts';
import { quorumText, share } from '../roomCore';

function Tally({ p }: { p: Proposal }) {
  const { yes, no, abstain, eligible } = p.tally;
  return (
    <div className="tally" aria-label={`Tally: ${yes} yes, ${no} no, ${abstain} abstain of ${eligible}`}>
      <div className="tally-bar" aria-hidden="true">
        <span className="t-yes" style={{ width: `${share(yes, eligible)}%` }} />
        <span className="t-no" style={{ width: `${share(no, eligible)}%` }} />
        <span className="t-abstain" style={{ width: `${share(abstain, eligible)}%` }} />
      </div>
      <span className="tally-nums">
        <span className="c-yes">{yes} yes</span> · <span className="c-no">{no} no</span> · {abstain} abstain · of {eligible}
      </span>
    </div>
  );
}

export function VoteCard({ p, room, members }: { p: Proposal; room: Room; members: Member[] }) {
  const cast = useAction((choice: 'yes' | 'no' | 'abstain', veto = false) => transport().call('rooms.vote', { proposalId: p.id, choice, ...(veto ? { veto: true } : {}) }));
  const mine = p.votes.find((v) => v.memberId === ME);
  const me = members.find((m) => m.id === ME);
  const canVeto = !!me && me.roles.some((r) => room.vetoRoles.includes(r));
  const open = p.status === 'open';
  return (
    <article className={`vote-card status-${p.status}`} aria-label={`Proposal ${p.id}: ${p.title}`} data-proposal={p.id}>
      <header>
        <strong>{p.title}</strong>
        <span className={`pstatus pstatus-${p.status}`}>{p.status}</span>
        {p.kind === 'deploy' && <span className="role">deploy</span>}
      </header>
      <p className="small">
        <span className="muted">Subject</span> {p.subject} · <span className="muted">if it passes</span> {p.outcome}
      </p>
      <Tally p={p} />
      <p className="small muted">
        {quorumText(p)}
        {p.deadline !== null && open && (
          <>
            {' · '}
            <Countdown deadline={p.deadline} />
          </>
        )}
      </p>
      {p.reason && (
        <p className="small">
          {p.status === 'vetoed' ? <strong className="c-no">Vetoed: </strong> : 'Closed: '}
          {p.reason}
        </p>
      )}
      {p.votes.length > 0 && (
        <ul className="vote-record small">
          {p.votes.map((v) => (
            <li key={v.memberId}>
              {v.memberId === ME ? 'You' : v.name}: <span className={`c-${v.choice}`}>{v.choice}</span>
              {v.veto && <strong className="c-no"> (veto)</strong>}
              {v.weight !== 1 && <span className="muted"> ×{v.weight}</span>}
            </li>
          ))}
        </ul>
      )}
      {open && (
        <div className="vote-actions">
          {(['yes', 'no', 'abstain'] as const).map((c) => (
            <button
              key={c}
              type="button"
              className={mine?.choice === c ? 'chosen' : undefined}
              aria-pressed={mine?.choice === c}
              aria-label={`Vote ${c} on proposal ${p.id}`}
              disabled={cast.pending}
              onClick={() => void cast.run(c)}
            >
              {c}
            </button>
          ))}
          {canVeto && (
            <button type="button" className="danger" disabled={cast.pending} aria-label={`Veto proposal ${p.id}`} onClick={() => void cast.run('no', true)}>
              Veto
            </button>
          )}
          {mine && <span className="small muted">You voted {mine.choice}; you can change it until it closes.</span>}
        </div>
      )}
      <ErrorLine error={cast.error} />
    </article>
  );
}

export function VotesPanel({ proposals, room, members }: { proposals: Proposal[]; room: Room; members: Member[] }) {
  if (!proposals.length)
    return <p className="empty small">No proposals yet. Choose “propose” in the composer to put one to the vote ({room.defaultRule} by default here).</p>;
  const open = proposals.filter((p) => p.status === 'open');
  const closed = proposals.filter((p) => p.status !== 'open');
  return (
    <div className="votes">
      {open.map((p) => (
        <VoteCard key={p.id} p={p} room={room} members={members} />
      ))}
      {closed.length > 0 && <h3 className="panel-h">Closed</h3>}
      {closed.map((p) => (
        <VoteCard key={p.id} p={p} room={room} members={members} />
      ))}
    </div>
  );
}
