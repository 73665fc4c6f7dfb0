// One message in the stream or a thread, and the scroll behaviour of the list that holds them.
import { MessageSquareReply, Paperclip } from 'lucide-react';
import { useLayoutEffect, useRef } from 'react';
import type { FileInfo, Message, Proposal } from '../../../../preload/contract';
import { ActBadge, AuthorBadge, ME, MessageText, Verified, clock } from './parts';

export function MessageRow({
  m,
  files,
  proposal,
  onThread,
  onShowVote,
  flash,
  onDownload,
}: {
  m: Message;
  /** Saves an attachment; its failure is shown by the caller. */
  onDownload: (fileId: string) => void;
  files: Map<string, FileInfo>;
  proposal?: Proposal;
  onThread?: (m: Message) => void;
  onShowVote?: () => void;
  flash: boolean;
}) {
  return (
    <li className={`msg${flash ? ' flash' : ''}${m.author.id === ME ? ' mine' : ''}`} id={`msg-${m.id}`} data-id={m.id}>
      <div className="msg-head">
        <AuthorBadge author={m.author} />
        <ActBadge act={m.act} />
        <Verified m={m} />
        <time className="muted small" dateTime={new Date(m.createdAt).toISOString()}>
          {clock(m.createdAt)}
        </time>
      </div>
      <div className="msg-body">
        <MessageText text={m.text} />
      </div>
      {m.attachments.length > 0 && (
        <div className="attachments">
          {m.attachments.map((id) => (
            <button key={id} type="button" className="chip" onClick={() => onDownload(id)} aria-label={`Download ${files.get(id)?.name ?? id}`}>
              <Paperclip size={11} aria-hidden="true" /> {files.get(id)?.name ?? id}
            </button>
          ))}
        </div>
      )}
      {proposal && (
        <button type="button" className={`chip pchip pstatus-${proposal.status}`} onClick={onShowVote}>
          Proposal #{proposal.id} · {proposal.status} · {proposal.tally.yes} yes / {proposal.tally.no} no
        </button>
      )}
      {onThread && (
        <button type="button" className="ghost reply-link small" onClick={() => onThread(m)} aria-label={`Reply in thread to message ${m.id}`}>
          <MessageSquareReply size={12} aria-hidden="true" /> {m.replies ? `${m.replies} ${m.replies === 1 ? 'reply' : 'replies'}` : 'Reply'}
        </button>
      )}
    </li>
  );
}

/** Keeps the list pinned to the bottom when the reader is there; leaves it alone when they scrolled up. */
export function useStickToBottom(dep: unknown) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [dep]);
  const onScroll = (): void => {
    const el = ref.current;
    if (el) atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  return { ref, onScroll };
}

