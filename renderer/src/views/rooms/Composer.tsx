// Writing to a room: a message, a reply in a thread, or a proposal put to the vote.
import { Paperclip, X } from 'lucide-react';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { quorumRules, speechActs, type FileInfo, type Room } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useAction } from '../../data/useAction';
import { transport } from '../../transport';
import { uploadTo } from './panels/files';
import { isSendKey } from './roomCore';

type SpeechAct = (typeof speechActs)[number];
type Rule = (typeof quorumRules)[number];

export function Composer({ room, replyTo, onSent, compact }: { room: Room; replyTo?: number; onSent?: () => void; compact?: boolean }) {
  const [text, setText] = useState('');
  const [act, setAct] = useState<SpeechAct>('inform');
  const [subject, setSubject] = useState('');
  const [outcome, setOutcome] = useState('');
  const [rule, setRule] = useState<Rule>(room.defaultRule);
  const [deadlineMin, setDeadlineMin] = useState('');
  const [files, setFiles] = useState<FileInfo[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const proposing = act === 'propose' && replyTo === undefined;

  useEffect(() => setRule(room.defaultRule), [room.defaultRule]);

  const sending = useAction(async () => {
    if (proposing) {
      const firstLine = text.trim().split('\n')[0]!.slice(0, 200);
      await transport().call('rooms.propose', {
        roomId: room.id,
        title: firstLine,
        subject: subject || firstLine,
        outcome: outcome || firstLine,
        text,
        rule,
        ...(deadlineMin ? { deadlineMs: Math.round(Number(deadlineMin) * 60_000) } : {}),
      });
      setSubject('');
      setOutcome('');
    } else {
      await transport().call('rooms.post', {
        roomId: room.id,
        text,
        act,
        ...(replyTo !== undefined ? { replyTo } : {}),
        ...(files.length ? { attachments: files.map((f) => f.id) } : {}),
      });
    }
    setText('');
    setFiles([]);
    setAct('inform');
    onSent?.();
  });
  const attaching = useAction(async (f: File) => {
    try {
      const info = await uploadTo(room, f);
      setFiles((list) => [...list, info]);
    } finally {
      if (fileInput.current) fileInput.current.value = '';
    }
  });
  const send = (): void => {
    if (!sending.pending && text.trim()) void sending.run();
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (isSendKey({ key: e.key, shiftKey: e.shiftKey, altKey: e.altKey, isComposing: e.nativeEvent.isComposing })) {
      e.preventDefault();
      send();
    }
  };

  return (
    <form className={`composer${compact ? ' compact' : ''}`} onSubmit={(e) => (e.preventDefault(), send())} aria-label={replyTo ? 'Reply in thread' : 'New message'}>
      {proposing && (
        <div className="propose-fields">
          <input aria-label="Subject" value={subject} onChange={(e) => setSubject(e.target.value)} placeholder="Subject (e.g. database)" maxLength={200} />
          <input aria-label="Outcome if it passes" value={outcome} onChange={(e) => setOutcome(e.target.value)} placeholder="Outcome if it passes" maxLength={500} />
          <select aria-label="Quorum rule" value={rule} onChange={(e) => setRule(e.target.value as Rule)}>
            {quorumRules.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <input aria-label="Deadline in minutes" type="number" min={1} max={43200} value={deadlineMin} onChange={(e) => setDeadlineMin(e.target.value)} placeholder="deadline (min)" />
        </div>
      )}
      {files.length > 0 && (
        <div className="attachments">
          {files.map((f) => (
            <span key={f.id} className="chip">
              <Paperclip size={11} aria-hidden="true" /> {f.name}
              <button type="button" className="ghost" aria-label={`Remove ${f.name}`} onClick={() => setFiles((l) => l.filter((x) => x.id !== f.id))}>
                <X size={11} />
              </button>
            </span>
          ))}
        </div>
      )}
      <div className="composer-row">
        <select aria-label="Speech act" value={act} onChange={(e) => setAct(e.target.value as SpeechAct)}>
          {speechActs
            .filter((a) => replyTo === undefined || a !== 'propose')
            .map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
        </select>
        <textarea
          aria-label={replyTo ? 'Reply' : 'Message'}
          rows={2}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKey}
          maxLength={10_000}
          placeholder={proposing ? 'The proposal: first line is its title. Enter to put it to the vote' : 'Write a message; @name mentions. Enter sends, Shift+Enter for a new line'}
        />
        {!proposing && (
          <button type="button" className="ghost" aria-label="Attach a file" disabled={attaching.pending} onClick={() => fileInput.current?.click()}>
            <Paperclip size={15} />
          </button>
        )}
        <input
          ref={fileInput}
          type="file"
          hidden
          aria-label="Choose a file to attach"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void attaching.run(f);
          }}
        />
        <button type="submit" className="primary" disabled={sending.pending || !text.trim()}>
          {proposing ? 'Propose' : 'Send'}
        </button>
      </div>
      <ErrorLine error={sending.error ?? attaching.error} />
    </form>
  );
}
