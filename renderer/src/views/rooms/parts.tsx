// Small pieces shared by the Rooms view's panels: author, speech act, message text, errors shown.
import { Bot, Monitor, ShieldCheck, ShieldQuestion, User } from 'lucide-react';
import { useNow } from '../../data/clock';
import type { Author, Message } from '../../../../preload/contract';
import { countdown, splitMentions } from './roomCore';

export const ME = 'user';
export const clock = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
export const when = (ts: number): string => new Date(ts).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });

const kindIcon = { human: User, agent: Bot, desktop: Monitor } as const;
const kindLabel = { human: 'person', agent: 'agent', desktop: 'Claude Desktop' } as const;

export function AuthorBadge({ author }: { author: Author }) {
  const Icon = kindIcon[author.kind];
  return (
    <span className={`author author-${author.kind}`} title={`${author.name} (${kindLabel[author.kind]}, ${author.id})`}>
      <Icon size={13} aria-label={kindLabel[author.kind]} />
      <strong>{author.id === ME ? 'You' : author.name}</strong>
    </span>
  );
}

export function ActBadge({ act }: { act: Message['act'] }) {
  return <span className={`act act-${act}`}>{act}</span>;
}

export function Verified({ m }: { m: Pick<Message, 'signed' | 'verified'> }) {
  if (!m.signed) return null;
  return m.verified ? (
    <span className="verified" title="Signed with the Ed25519 key registered with this agent's token; the signature checked out">
      <ShieldCheck size={12} aria-hidden="true" /> verified
    </span>
  ) : (
    <span className="unverified" title="Signed, but the signature was not checked">
      <ShieldQuestion size={12} aria-hidden="true" /> unverified
    </span>
  );
}

export function MessageText({ text }: { text: string }) {
  return (
    <span className="msg-text">
      {splitMentions(text, [ME, 'you']).map((p, i) =>
        p.kind === 'text' ? (
          p.text
        ) : (
          <mark key={i} className={p.me ? 'mention mention-me' : 'mention'}>
            {p.text}
          </mark>
        ),
      )}
    </span>
  );
}

/** A ticking "ends in …" on the shared clock. */
export function Countdown({ deadline }: { deadline: number }) {
  const now = useNow();
  const left = countdown(deadline, now);
  return (
    <span className="countdown" title={new Date(deadline).toLocaleString()}>
      {left === 'ended' ? 'deadline passed' : `ends in ${left}`}
    </span>
  );
}
