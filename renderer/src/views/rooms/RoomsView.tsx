// The Rooms view: the room list, the message stream with its threads, and the side panels.
import * as Tabs from '@radix-ui/react-tabs';
import { Plus, X } from 'lucide-react';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Decision, FileInfo, Member, Message, Proposal, Room, RoomListItem, SearchHit } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { ignoreBecause } from '../../data/ignore';
import { useAction } from '../../data/useAction';
import { transport } from '../../transport';
import { Composer } from './Composer';
import { MessageRow, useStickToBottom } from './MessageRow';
import { NewRoomDialog } from './NewRoomDialog';
import { ME } from './parts';
import { DecisionsPanel } from './panels/DecisionsPanel';
import { downloadFile } from './panels/files';
import { FilesPanel } from './panels/FilesPanel';
import { MembersPanel } from './panels/MembersPanel';
import { SearchPanel } from './panels/SearchPanel';
import { SummaryPanel } from './panels/SummaryPanel';
import { TasksPanel } from './panels/TasksPanel';
import { VotesPanel } from './panels/VotesPanel';
import { applyPresence, applyReply, mergeMessages, upsertById } from './roomCore';
import './rooms.css';

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
  // Loading and navigating (the list, a room, a thread, a search hit): one error line at the top.
  const work = useAction((fn: () => Promise<void>) => fn());
  const download = useAction(downloadFile);
  const selectedRef = useRef<string | undefined>(undefined);
  const threadRef = useRef<number | undefined>(undefined);
  const membersRef = useRef<Member[]>([]);
  const filesRef = useRef<Map<string, FileInfo>>(new Map());
  selectedRef.current = selected;
  threadRef.current = thread?.id;
  membersRef.current = members;
  filesRef.current = fileMap;

  const { run } = work;
  const loadRooms = useCallback(
    () =>
      run(async () => {
        const r = await transport().call('rooms.list', { member: ME });
        setRooms(r.rooms);
        setSelected((s) => s ?? r.rooms[0]?.id);
      }),
    [run],
  );

  const markRead = useCallback((roomId: string, upTo: number) => {
    if (document.visibilityState === 'hidden') return;
    void transport()
      .call('rooms.markRead', { roomId, upTo })
      .then(({ unread }) => setRooms((list) => list?.map((r) => (r.id === roomId ? { ...r, unread } : r))))
      .catch(ignoreBecause('marking a room read failed; the next message marks it again'));
  }, []);

  // Everything about one room, loaded together when it is selected.
  const loadRoom = useCallback(
    (roomId: string) =>
      run(async () => {
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
        const last = page.messages.at(-1);
        if (last) markRead(roomId, last.id);
      }),
    [markRead, run],
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
        if (!membersRef.current.some((x) => x.id === m.author.id))
          void transport()
            .call('rooms.members', { roomId: m.roomId })
            .then((r) => setMembers(r.members))
            .catch(ignoreBecause('a new author shows by the name on the message until the room is loaded again'));
        if (m.attachments.some((id) => !filesRef.current.has(id)))
          void transport()
            .call('rooms.files.list', { roomId: m.roomId })
            .then((r) => setFileMap(new Map(r.files.map((f) => [f.id, f]))))
            .catch(ignoreBecause('an attachment shows by its id until the room is loaded again'));
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

  const openThread = useCallback(
    (m: Message, highlight?: number) => {
      setThread(m);
      setThreadMsgs([]);
      return run(async () => {
        const r = await transport().call('rooms.messages', { roomId: m.roomId, thread: m.id, after: 0, limit: 500 });
        setThreadMsgs(r.messages.filter((x) => x.id !== m.id));
        if (highlight) setFlash(highlight);
      });
    },
    [run],
  );

  const loadEarlier = (): void => {
    if (!selected || !messages.length) return;
    void run(async () => {
      const r = await transport().call('rooms.messages', { roomId: selected, before: messages[0]!.id, limit: 100 });
      setMessages((list) => mergeMessages(list, r.messages));
      setHasMore(r.hasMore);
    });
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
    await run(async () => {
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
    });
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
      <ErrorLine error={work.error ?? download.error} />
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
                  <button type="button" className="ghost small load-earlier" onClick={loadEarlier}>
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
                        onDownload={(id) => void download.run(id)}
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
                    <MessageRow m={thread} files={fileMap} flash={false} onDownload={(id) => void download.run(id)} />
                    {threadMsgs.map((m) => (
                      <MessageRow key={m.id} m={m} files={fileMap} flash={flash === m.id} onDownload={(id) => void download.run(id)} />
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
