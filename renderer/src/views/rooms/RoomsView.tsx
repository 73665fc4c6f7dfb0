import * as Dialog from '@radix-ui/react-dialog';
import * as Tabs from '@radix-ui/react-tabs';
import { MessageSquareReply, Paperclip, Plus, X } from 'lucide-react';
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import {
  quorumRules,
  speechActs,
  type Decision,
  type FileInfo,
  type Member,
  type Message,
  type Proposal,
  type Room,
  type RoomListItem,
  type SearchHit,
} from '../../../../preload/contract';
import { transport, errorText } from '../../transport';
import { ActBadge, AuthorBadge, ErrorLine, ME, MessageText, Verified, clock } from './parts';
import { DecisionsPanel, downloadFile, FilesPanel, MembersPanel, SearchPanel, SummaryPanel, TasksPanel, uploadTo, VotesPanel } from './panels';
import { applyPresence, applyReply, isSendKey, mergeMessages, upsertById } from './roomCore';
import './rooms.css';

type SpeechAct = (typeof speechActs)[number];
type Rule = (typeof quorumRules)[number];

// --- room list ------------------------------------------------------------------------------------

function NewRoomDialog({ open, onOpenChange, onCreated }: { open: boolean; onOpenChange: (o: boolean) => void; onCreated: (r: Room) => void }) {
  const [name, setName] = useState('');
  const [rule, setRule] = useState<Rule>('majority');
  const [veto, setVeto] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      const vetoRoles = veto.split(',').map((s) => s.trim()).filter(Boolean);
      const room = await transport().call('rooms.create', { name, defaultRule: rule, ...(vetoRoles.length ? { vetoRoles } : {}) });
      setName('');
      setVeto('');
      onCreated(room);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog" aria-describedby="new-room-hint">
          <Dialog.Title>New room</Dialog.Title>
          <p id="new-room-hint" className="muted small">
            You own the room and join it as coordinator. Agents join when they first post with their token.
          </p>
          <form onSubmit={(e) => void submit(e)} className="dialog-form">
            <label>
              Name
              <input value={name} onChange={(e) => setName(e.target.value)} maxLength={80} required autoFocus placeholder="e.g. Release 2.4" />
            </label>
            <label>
              Default quorum rule
              <select value={rule} onChange={(e) => setRule(e.target.value as Rule)}>
                {quorumRules.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Roles that may veto <small className="muted">comma-separated, e.g. reviewer</small>
              <input value={veto} onChange={(e) => setVeto(e.target.value)} placeholder="none" />
            </label>
            <ErrorLine error={error} />
            <div className="dialog-actions">
              <Dialog.Close asChild>
                <button type="button">Cancel</button>
              </Dialog.Close>
              <button type="submit" className="primary">
                Create room
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

// --- messages -------------------------------------------------------------------------------------

function MessageRow({
  m,
  files,
  proposal,
  onThread,
  onShowVote,
  flash,
}: {
  m: Message;
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
            <button key={id} type="button" className="chip" onClick={() => void downloadFile(id)} aria-label={`Download ${files.get(id)?.name ?? id}`}>
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
function useStickToBottom(dep: unknown) {
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

// --- composer -------------------------------------------------------------------------------------

function Composer({ room, replyTo, onSent, compact }: { room: Room; replyTo?: number; onSent?: () => void; compact?: boolean }) {
  const [text, setText] = useState('');
  const [act, setAct] = useState<SpeechAct>('inform');
  const [subject, setSubject] = useState('');
  const [outcome, setOutcome] = useState('');
  const [rule, setRule] = useState<Rule>(room.defaultRule);
  const [deadlineMin, setDeadlineMin] = useState('');
  const [files, setFiles] = useState<FileInfo[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const proposing = act === 'propose' && replyTo === undefined;

  useEffect(() => setRule(room.defaultRule), [room.defaultRule]);

  const send = async (): Promise<void> => {
    if (busy || !text.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
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
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (isSendKey({ key: e.key, shiftKey: e.shiftKey, altKey: e.altKey, isComposing: e.nativeEvent.isComposing })) {
      e.preventDefault();
      void send();
    }
  };
  const attach = async (f: File | undefined): Promise<void> => {
    if (!f) return;
    setError(undefined);
    try {
      const info = await uploadTo(room, f);
      setFiles((list) => [...list, info]);
    } catch (err) {
      setError(errorText(err));
    } finally {
      if (fileInput.current) fileInput.current.value = '';
    }
  };

  return (
    <form className={`composer${compact ? ' compact' : ''}`} onSubmit={(e) => (e.preventDefault(), void send())} aria-label={replyTo ? 'Reply in thread' : 'New message'}>
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
          rows={compact ? 2 : 2}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKey}
          maxLength={10_000}
          placeholder={proposing ? 'The proposal: first line is its title. Enter to put it to the vote' : 'Write a message; @name mentions. Enter sends, Shift+Enter for a new line'}
        />
        {!proposing && (
          <button type="button" className="ghost" aria-label="Attach a file" onClick={() => fileInput.current?.click()}>
            <Paperclip size={15} />
          </button>
        )}
        <input ref={fileInput} type="file" hidden aria-label="Choose a file to attach" onChange={(e) => void attach(e.target.files?.[0])} />
        <button type="submit" className="primary" disabled={busy || !text.trim()}>
          {proposing ? 'Propose' : 'Send'}
        </button>
      </div>
      <ErrorLine error={error} />
    </form>
  );
}

// --- the view -------------------------------------------------------------------------------------

type Tab = 'members' | 'votes' | 'decisions' | 'tasks' | 'files' | 'search' | 'summary';

export function RoomsView() {
  const [rooms, setRooms] = useState<RoomListItem[]>();
  const [selected, setSelected] = useState<string>();
  const [room, setRoom] = useState<Room>();
  const [members, setMembers] = useState<Member[]>([]);
  const [messages, setMessages] = useState<Message[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [proposals, setProposals] = useState<Proposal[]>([]);
  const [decisions, setDecisions] = useState<Decision[]>([]);
  const [fileMap, setFileMap] = useState<Map<string, FileInfo>>(new Map());
  const [thread, setThread] = useState<Message>();
  const [threadMsgs, setThreadMsgs] = useState<Message[]>([]);
  const [tab, setTab] = useState<Tab>('votes');
  const [flash, setFlash] = useState<number>();
  const [newRoom, setNewRoom] = useState(false);
  const [error, setError] = useState<string>();
  const selectedRef = useRef<string | undefined>(undefined);
  const threadRef = useRef<number | undefined>(undefined);
  const membersRef = useRef<Member[]>([]);
  const filesRef = useRef<Map<string, FileInfo>>(new Map());
  selectedRef.current = selected;
  threadRef.current = thread?.id;
  membersRef.current = members;
  filesRef.current = fileMap;

  const loadRooms = useCallback(async () => {
    try {
      const r = await transport().call('rooms.list', { member: ME });
      setRooms(r.rooms);
      setSelected((s) => s ?? r.rooms[0]?.id);
    } catch (err) {
      setError(errorText(err));
    }
  }, []);

  const markRead = useCallback((roomId: string, upTo: number) => {
    if (document.visibilityState === 'hidden') return;
    void transport()
      .call('rooms.markRead', { roomId, upTo })
      .then(({ unread }) => setRooms((list) => list?.map((r) => (r.id === roomId ? { ...r, unread } : r))))
      .catch(() => {});
  }, []);

  // Everything about one room, loaded together when it is selected.
  const loadRoom = useCallback(
    async (roomId: string) => {
      try {
        const [detail, page, props, decs, files] = await Promise.all([
          transport().call('rooms.get', { roomId }),
          transport().call('rooms.messages', { roomId, limit: 100 }),
          transport().call('rooms.proposals', { roomId }),
          transport().call('rooms.decisions', { roomId }),
          transport().call('rooms.files.list', { roomId }),
        ]);
        if (selectedRef.current !== roomId) return;
        setRoom(detail.room);
        setMembers(detail.members);
        setMessages(page.messages);
        setHasMore(page.hasMore);
        setProposals(props.proposals);
        setDecisions(decs.decisions);
        setFileMap(new Map(files.files.map((f) => [f.id, f])));
        setError(undefined);
        const last = page.messages.at(-1);
        if (last) markRead(roomId, last.id);
      } catch (err) {
        setError(errorText(err));
      }
    },
    [markRead],
  );

  useEffect(() => void loadRooms(), [loadRooms]);
  useEffect(() => {
    setThread(undefined);
    setMessages([]);
    setRoom(undefined);
    if (selected) void loadRoom(selected);
  }, [selected, loadRoom]);

  // Live updates, applied in place.
  useEffect(() => {
    const t = transport();
    const offs = [
      t.on('rooms.message', (m) => {
        if (m.roomId !== selectedRef.current) {
          setRooms((list) => {
            if (!list?.some((r) => r.id === m.roomId)) {
              void loadRooms(); // a room we have not seen yet (e.g. made by the orchestrator)
              return list;
            }
            return list.map((r) => (r.id === m.roomId ? { ...r, unread: m.author.id === ME ? r.unread : r.unread + 1, lastMessageAt: m.createdAt } : r));
          });
          return;
        }
        setMessages((list) => applyReply(mergeMessages(list, [m]), m));
        if (m.replyTo !== null && m.replyTo === threadRef.current) setThreadMsgs((list) => mergeMessages(list, [m]));
        setRooms((list) => list?.map((r) => (r.id === m.roomId ? { ...r, lastMessageAt: m.createdAt } : r)));
        if (!membersRef.current.some((x) => x.id === m.author.id)) void transport().call('rooms.members', { roomId: m.roomId }).then((r) => setMembers(r.members)).catch(() => {});
        if (m.attachments.some((id) => !filesRef.current.has(id)))
          void transport()
            .call('rooms.files.list', { roomId: m.roomId })
            .then((r) => setFileMap(new Map(r.files.map((f) => [f.id, f]))))
            .catch(() => {});
        markRead(m.roomId, m.id);
      }),
      t.on('rooms.vote', (p) => p.roomId === selectedRef.current && setProposals((list) => upsertById(list, p))),
      t.on('rooms.decision', (d) => d.roomId === selectedRef.current && setDecisions((list) => upsertById(list, d))),
      t.on('rooms.presence', (p) => setMembers((list) => applyPresence(list, p))),
    ];
    return () => offs.forEach((off) => off());
  }, [loadRooms, markRead]);

  // After a reconnect, anything may have changed while we were away.
  useEffect(
    () =>
      transport().onState((s) => {
        if (s.status !== 'open') return;
        void loadRooms();
        if (selectedRef.current) void loadRoom(selectedRef.current);
      }),
    [loadRooms, loadRoom],
  );

  const openThread = useCallback(async (m: Message, highlight?: number) => {
    setThread(m);
    setThreadMsgs([]);
    try {
      const r = await transport().call('rooms.messages', { roomId: m.roomId, thread: m.id, after: 0, limit: 500 });
      setThreadMsgs(r.messages.filter((x) => x.id !== m.id));
      if (highlight) setFlash(highlight);
    } catch (err) {
      setError(errorText(err));
    }
  }, []);

  const loadEarlier = async (): Promise<void> => {
    if (!selected || !messages.length) return;
    const r = await transport().call('rooms.messages', { roomId: selected, before: messages[0]!.id, limit: 100 });
    setMessages((list) => mergeMessages(list, r.messages));
    setHasMore(r.hasMore);
  };

  // Search results jump to the message: load the page around it, then scroll and flash it.
  const jump = async (hit: SearchHit): Promise<void> => {
    if (hit.roomId !== selected) {
      selectedRef.current = hit.roomId;
      setSelected(hit.roomId);
      await loadRoom(hit.roomId);
    }
    if (hit.kind === 'decision') {
      setTab('decisions');
      return;
    }
    try {
      const [before, after] = await Promise.all([
        transport().call('rooms.messages', { roomId: hit.roomId, before: hit.id + 1, limit: 50 }),
        transport().call('rooms.messages', { roomId: hit.roomId, after: hit.id, limit: 50 }),
      ]);
      const target = before.messages.find((m) => m.id === hit.id);
      setMessages((list) => mergeMessages(list, [...before.messages, ...after.messages]));
      if (target?.replyTo) {
        const parent = (await transport().call('rooms.messages', { roomId: hit.roomId, before: target.replyTo + 1, limit: 1 })).messages[0];
        if (parent) await openThread(parent, hit.id);
      } else setFlash(hit.id);
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    if (flash === undefined) return;
    document.getElementById(`msg-${flash}`)?.scrollIntoView({ block: 'center' });
    const t = setTimeout(() => setFlash(undefined), 2500);
    return () => clearTimeout(t);
  }, [flash, messages, threadMsgs]);

  const mainStream = messages.filter((m) => m.replyTo === null);
  const stick = useStickToBottom(mainStream.length);
  const byMessage = new Map(proposals.map((p) => [p.messageId, p]));
  const openVotes = proposals.filter((p) => p.status === 'open').length;

  return (
    <section className="view rooms-view">
      <header className="view-header">
        <h1>Rooms</h1>
        <p className="muted">Where you and your agents post, propose, vote and decide. Everything here is kept on disk.</p>
      </header>
      <ErrorLine error={error} />
      <div className="rooms-grid">
        <nav className="room-list" aria-label="Rooms">
          <button type="button" className="new-room" onClick={() => setNewRoom(true)}>
            <Plus size={14} aria-hidden="true" /> New room
          </button>
          {rooms && rooms.length === 0 && <p className="empty small">No rooms yet. Create one, or let the orchestrator in the Agents view make one for a team.</p>}
          <ul>
            {rooms?.map((r) => (
              <li key={r.id}>
                <button
                  type="button"
                  className="room-item"
                  aria-current={r.id === selected ? 'true' : undefined}
                  onClick={() => setSelected(r.id)}
                  aria-label={`${r.name}${r.unread ? `, ${r.unread} unread` : ''}`}
                >
                  <span className="room-name" title={`${r.members} members`}>
                    {r.name}
                  </span>
                  {r.unread > 0 && <span className="unread">{r.unread > 99 ? '99+' : r.unread}</span>}
                </button>
              </li>
            ))}
          </ul>
        </nav>

        {room ? (
          <>
            <div className="stream-col" aria-label={`Room ${room.name}`}>
              <div className="stream-head">
                <h2>{room.name}</h2>
                <span className="small muted">
                  {members.length} members · {room.defaultRule}
                  {room.vetoRoles.length ? ` · veto: ${room.vetoRoles.join(', ')}` : ''}
                </span>
              </div>
              <div className="stream" ref={stick.ref} onScroll={stick.onScroll}>
                {hasMore && (
                  <button type="button" className="ghost small load-earlier" onClick={() => void loadEarlier()}>
                    Load earlier messages
                  </button>
                )}
                {mainStream.length === 0 ? (
                  <p className="empty small">No messages yet. Say hello below, or give an agent a token (Agents view) and ask it to post here.</p>
                ) : (
                  <ol className="messages" aria-label="Messages" aria-live="polite">
                    {mainStream.map((m) => (
                      <MessageRow
                        key={m.id}
                        m={m}
                        files={fileMap}
                        proposal={byMessage.get(m.id)}
                        onThread={(x) => void openThread(x)}
                        onShowVote={() => setTab('votes')}
                        flash={flash === m.id}
                      />
                    ))}
                  </ol>
                )}
              </div>
              <Composer room={room} />
            </div>

            <aside className="side-col" aria-label="Room details">
              {thread ? (
                <div className="thread" aria-label={`Thread of message ${thread.id}`}>
                  <div className="thread-head">
                    <strong>Thread</strong>
                    <button type="button" className="ghost" aria-label="Close the thread" onClick={() => setThread(undefined)}>
                      <X size={14} />
                    </button>
                  </div>
                  <ol className="messages">
                    <MessageRow m={thread} files={fileMap} flash={false} />
                    {threadMsgs.map((m) => (
                      <MessageRow key={m.id} m={m} files={fileMap} flash={flash === m.id} />
                    ))}
                  </ol>
                  {threadMsgs.length === 0 && <p className="small muted">No replies yet.</p>}
                  <Composer room={room} replyTo={thread.id} compact />
                </div>
              ) : (
                <Tabs.Root value={tab} onValueChange={(v) => setTab(v as Tab)} className="side-tabs">
                  <Tabs.List className="tab-list" aria-label="Room panels">
                    <Tabs.Trigger value="votes">Votes{openVotes ? ` (${openVotes})` : ''}</Tabs.Trigger>
                    <Tabs.Trigger value="decisions">Decisions</Tabs.Trigger>
                    <Tabs.Trigger value="members">Members</Tabs.Trigger>
                    <Tabs.Trigger value="tasks">Tasks</Tabs.Trigger>
                    <Tabs.Trigger value="files">Files</Tabs.Trigger>
                    <Tabs.Trigger value="search">Search</Tabs.Trigger>
                    <Tabs.Trigger value="summary">Summary</Tabs.Trigger>
                  </Tabs.List>
                  <Tabs.Content value="votes" className="tab-body">
                    <VotesPanel proposals={proposals} room={room} members={members} />
                  </Tabs.Content>
                  <Tabs.Content value="decisions" className="tab-body">
                    <DecisionsPanel decisions={decisions} />
                  </Tabs.Content>
                  <Tabs.Content value="members" className="tab-body">
                    <MembersPanel members={members} room={room} onChanged={(m) => setMembers((list) => list.map((x) => (x.id === m.id ? m : x)))} />
                  </Tabs.Content>
                  <Tabs.Content value="tasks" className="tab-body">
                    <TasksPanel roomId={room.id} members={members} />
                  </Tabs.Content>
                  <Tabs.Content value="files" className="tab-body">
                    <FilesPanel room={room} />
                  </Tabs.Content>
                  <Tabs.Content value="search" className="tab-body">
                    <SearchPanel roomId={room.id} onJump={(h) => void jump(h)} />
                  </Tabs.Content>
                  <Tabs.Content value="summary" className="tab-body">
                    <SummaryPanel roomId={room.id} />
                  </Tabs.Content>
                </Tabs.Root>
              )}
            </aside>
          </>
        ) : (
          <p className="empty rooms-empty">{rooms?.length ? 'Loading the room…' : 'Create a room to start: “New room” on the left.'}</p>
        )}
      </div>
      <NewRoomDialog
        open={newRoom}
        onOpenChange={setNewRoom}
        onCreated={(r) => {
          setNewRoom(false);
          void loadRooms().then(() => setSelected(r.id));
        }}
      />
    </section>
  );
}
