// The Rooms view's side panels: members, votes, decisions, tasks, files, search and the summary.
// Each loads what it shows and follows the events that change it while it is open.
import { AlertTriangle, Download, Paperclip } from 'lucide-react';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { Decision, FileInfo, Member, Proposal, Room, RoomSummary, SearchHit, Task } from '../../../../preload/contract';
import { transport, errorText } from '../../transport';
import { ErrorLine, Countdown, ME, when } from './parts';
import { base64ToBytes, bytesToBase64, formatBytes, quorumText, share, sortTasks, uploadProblem, upsertById } from './roomCore';

// --- members --------------------------------------------------------------------------------------

export function MembersPanel({ members, room, onChanged }: { members: Member[]; room?: Room; onChanged?: (m: Member) => void }) {
  const [error, setError] = useState<string>();
  // Agents join without a vote; the room's owner gives (or takes) one here.
  const setVote = async (m: Member, canVote: boolean): Promise<void> => {
    setError(undefined);
    try {
      onChanged?.(await transport().call('rooms.updateMember', { roomId: m.roomId, memberId: m.id, canVote }));
    } catch (err) {
      setError(errorText(err));
    }
  };
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
              <button type="button" className="small" onClick={() => void setVote(m, !m.canVote)} aria-label={`${m.canVote ? 'Take the vote of' : 'Give a vote to'} ${m.name}`}>
                {m.canVote ? 'Take vote' : 'Give vote'}
              </button>
            )}
          </li>
        ))}
      </ul>
      <ErrorLine error={error} />
    </>
  );
}

// --- votes ----------------------------------------------------------------------------------------

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
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const mine = p.votes.find((v) => v.memberId === ME);
  const me = members.find((m) => m.id === ME);
  const canVeto = !!me && me.roles.some((r) => room.vetoRoles.includes(r));
  const cast = async (choice: 'yes' | 'no' | 'abstain', veto = false): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await transport().call('rooms.vote', { proposalId: p.id, choice, ...(veto ? { veto: true } : {}) });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
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
      {p.reason && <p className="small">{p.status === 'vetoed' ? <strong className="c-no">Vetoed: </strong> : 'Closed: '}{p.reason}</p>}
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
              disabled={busy}
              onClick={() => void cast(c)}
            >
              {c}
            </button>
          ))}
          {canVeto && (
            <button type="button" className="danger" disabled={busy} aria-label={`Veto proposal ${p.id}`} onClick={() => void cast('no', true)}>
              Veto
            </button>
          )}
          {mine && <span className="small muted">You voted {mine.choice}; you can change it until it closes.</span>}
        </div>
      )}
      <ErrorLine error={error} />
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

// --- decisions ------------------------------------------------------------------------------------

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

// --- tasks ----------------------------------------------------------------------------------------

export function TasksPanel({ roomId, members }: { roomId: string; members: Member[] }) {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [title, setTitle] = useState('');
  const [assignee, setAssignee] = useState('');
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    transport()
      .call('rooms.tasks', { roomId })
      .then((r) => live && setTasks(r.tasks))
      .catch((err: unknown) => live && setError(errorText(err)));
    const off = transport().on('rooms.task', (t) => {
      if (t.roomId === roomId) setTasks((list) => upsertById(list, t));
    });
    return () => {
      live = false;
      off();
    };
  }, [roomId]);

  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setError(undefined);
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const create = (e: FormEvent): void => {
    e.preventDefault();
    void act(async () => {
      const t = await transport().call('rooms.taskCreate', { roomId, title, ...(assignee ? { assignee } : {}) });
      setTasks((list) => upsertById(list, t));
      setTitle('');
    });
  };
  // Shown at once (a checkbox must tick when clicked), then replaced by what the service stored.
  const update = (taskId: number, patch: { assignee?: string | null; progress?: number; done?: boolean }): void => {
    const before = tasks;
    setTasks((list) => list.map((t) => (t.id === taskId ? { ...t, ...patch } : t)));
    void act(async () => {
      try {
        const t = await transport().call('rooms.taskUpdate', { taskId, ...patch });
        setTasks((list) => upsertById(list, t));
      } catch (err) {
        setTasks(before);
        throw err;
      }
    });
  };

  return (
    <div className="tasks">
      <form className="inline" onSubmit={create} aria-label="New task">
        <input aria-label="Task title" value={title} onChange={(e) => setTitle(e.target.value)} placeholder="What needs doing" maxLength={300} required />
        <select aria-label="Assign the new task to" value={assignee} onChange={(e) => setAssignee(e.target.value)}>
          <option value="">Unassigned</option>
          {members.map((m) => (
            <option key={m.id} value={m.id}>
              {m.id === ME ? 'You' : m.name}
            </option>
          ))}
        </select>
        <button type="submit">Add</button>
      </form>
      <ErrorLine error={error} />
      {tasks.length === 0 ? (
        <p className="empty small">No tasks. Add one above; agents can update them with update_task.</p>
      ) : (
        <ul className="task-list" aria-label="Tasks">
          {sortTasks(tasks).map((t) => (
            <li key={t.id} className={t.done ? 'task done' : 'task'}>
              <label className="task-title">
                <input type="checkbox" checked={t.done} onChange={(e) => update(t.id, { done: e.target.checked })} aria-label={`Done: ${t.title}`} />
                {t.title}
              </label>
              <select aria-label={`Assignee of ${t.title}`} value={t.assignee ?? ''} onChange={(e) => update(t.id, { assignee: e.target.value || null })}>
                <option value="">Unassigned</option>
                {members.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.id === ME ? 'You' : m.name}
                  </option>
                ))}
                {t.assignee && !members.some((m) => m.id === t.assignee) && <option value={t.assignee}>{t.assignee}</option>}
              </select>
              <input
                type="range"
                min={0}
                max={100}
                step={10}
                value={t.progress}
                aria-label={`Progress of ${t.title}`}
                onChange={(e) => update(t.id, { progress: Number(e.target.value) })}
              />
              <span className="small muted nums">{t.progress}%</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// --- files ----------------------------------------------------------------------------------------

export async function downloadFile(fileId: string): Promise<void> {
  const { file, dataBase64 } = await transport().call('rooms.files.download', { fileId });
  const url = URL.createObjectURL(new Blob([base64ToBytes(dataBase64) as BlobPart], { type: file.mime || 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Reads a chosen file and uploads it, refusing it first when the room's limits already say no. */
export async function uploadTo(room: Room, file: File, usedBytes?: number): Promise<FileInfo> {
  const problem = uploadProblem(file.size, { maxFileBytes: room.maxFileBytes, quotaBytes: room.quotaBytes, usedBytes });
  if (problem) throw new Error(problem);
  const dataBase64 = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
  return transport().call('rooms.files.upload', { roomId: room.id, name: file.name, dataBase64, ...(file.type ? { mime: file.type } : {}) });
}

export function FilesPanel({ room }: { room: Room }) {
  const [files, setFiles] = useState<FileInfo[]>([]);
  const [used, setUsed] = useState(0);
  const [error, setError] = useState<string>();
  const input = useRef<HTMLInputElement>(null);

  const load = useCallback(async () => {
    try {
      const r = await transport().call('rooms.files.list', { roomId: room.id });
      setFiles(r.files);
      setUsed(r.usedBytes);
    } catch (err) {
      setError(errorText(err));
    }
  }, [room.id]);
  useEffect(() => void load(), [load]);

  const upload = async (f: File | undefined): Promise<void> => {
    if (!f) return;
    setError(undefined);
    try {
      await uploadTo(room, f, used);
      await load();
    } catch (err) {
      setError(errorText(err));
    } finally {
      if (input.current) input.current.value = '';
    }
  };

  return (
    <div className="files">
      <div className="files-head">
        <span className="small muted">
          {formatBytes(used)} of {formatBytes(room.quotaBytes)} used · at most {formatBytes(room.maxFileBytes)} per file
        </span>
        <button type="button" onClick={() => input.current?.click()}>
          <Paperclip size={13} aria-hidden="true" /> Upload
        </button>
        <input ref={input} type="file" hidden aria-label="Upload a file to the room" onChange={(e) => void upload(e.target.files?.[0])} />
      </div>
      <ErrorLine error={error} />
      {files.length === 0 ? (
        <p className="empty small">No files. Upload one here or attach it to a message.</p>
      ) : (
        <ul className="file-list" aria-label="Files">
          {files.map((f) => (
            <li key={f.id}>
              <span className="file-name" title={`sha256 ${f.sha256}`}>
                {f.name}
              </span>
              <span className="small muted nums">{formatBytes(f.size)}</span>
              <span className="small muted">{f.uploadedBy === ME ? 'You' : f.uploadedBy}</span>
              <button type="button" className="ghost" aria-label={`Download ${f.name}`} onClick={() => void downloadFile(f.id).catch((err: unknown) => setError(errorText(err)))}>
                <Download size={13} aria-hidden="true" />
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// --- search ---------------------------------------------------------------------------------------

export function SearchPanel({ roomId, onJump }: { roomId: string; onJump: (hit: SearchHit) => void }) {
  const [query, setQuery] = useState('');
  const [all, setAll] = useState(false);
  const [hits, setHits] = useState<SearchHit[] | undefined>();
  const [error, setError] = useState<string>();
  const run = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!query.trim()) return;
    setError(undefined);
    try {
      setHits((await transport().call('rooms.search', { query, limit: 50, ...(all ? {} : { roomId }) })).hits);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <div className="search">
      <form className="inline" role="search" onSubmit={(e) => void run(e)}>
        <input type="search" aria-label="Search messages and decisions" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Words, or the start of one" />
        <button type="submit">Search</button>
      </form>
      <label className="small muted">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> every room
      </label>
      <ErrorLine error={error} />
      {hits && hits.length === 0 && <p className="empty small">Nothing matches. Try fewer or shorter words.</p>}
      {hits && hits.length > 0 && (
        <ul className="hits" aria-label="Search results">
          {hits.map((h) => (
            <li key={`${h.kind}-${h.id}`}>
              <button type="button" className="hit" onClick={() => onJump(h)}>
                <span className="small muted">
                  {h.kind === 'decision' ? 'decision' : `#${h.id}`} · {when(h.createdAt)}
                  {h.roomId !== roomId ? ` · ${h.roomId}` : ''}
                </span>
                <span className="hit-snippet">{h.snippet}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// --- summary --------------------------------------------------------------------------------------

export function SummaryPanel({ roomId }: { roomId: string }) {
  const [summary, setSummary] = useState<RoomSummary | null>(null);
  const [streaming, setStreaming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    setSummary(null);
    setStreaming(null);
    transport()
      .call('assist.summary.get', { roomId })
      .then((s) => live && setSummary(s))
      .catch((err: unknown) => live && setError(errorText(err)));
    const offs = [
      // Each delta carries the text so far, so a missed delta never leaves a gap.
      transport().on('assist.summary.delta', (d) => d.roomId === roomId && setStreaming(d.text)),
      transport().on('assist.summary.done', (d) => {
        if (d.roomId !== roomId) return;
        setSummary(d.summary);
        setStreaming(null);
      }),
    ];
    return () => {
      live = false;
      offs.forEach((off) => off());
    };
  }, [roomId]);

  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      setSummary(await transport().call('assist.summary.run', { roomId, extractiveOnly: false }));
      setStreaming(null);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="summary">
      <div className="files-head">
        <span className="small muted">
          {summary
            ? `${summary.source === 'model' ? `Written by ${summary.model ?? 'Claude'}` : 'Extractive'} · ${summary.messageCount} messages · ${when(summary.createdAt)}`
            : 'Made automatically after 50 new messages, or now.'}
        </span>
        <button type="button" onClick={() => void run()} disabled={busy}>
          {busy ? 'Summarising…' : 'Summarise now'}
        </button>
      </div>
      <ErrorLine error={error} />
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
