import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { builtinRoles, fleetActionKinds, LOCAL_USER_ID, type Author } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { Db } from '../store';
import { createInlineWriter, createWorkerWriter, type RoomsWriter, type WriteOp } from './writer';
import type {
  Decision,
  FileInfo,
  Member,
  Message,
  PostMessageInput,
  PostResult,
  Presence,
  Proposal,
  QuorumRule,
  Room,
  RoomsService,
  RoomListItem,
  SearchHit,
  Task,
} from './types';

export interface RoomsDeps {
  db: Db;
  bus: EventBus;
  now: () => number;
  /** Files are stored as <dataDir>/files/<sha256>. */
  dataDir: string;
  log?: Logger;
  /** Random bytes for ids; injectable for deterministic tests. */
  randomBytes?: (n: number) => Buffer;
  /** Schedules the deadline timer; returns a cancel function. */
  schedule?: (fn: () => void, ms: number) => () => void;
  /**
   * Where queued writes (postQueued, recordDeliveryLater) commit: a worker thread with its own
   * connection (default for a database file), or this connection (default for :memory:).
   */
  writer?: 'worker' | 'inline';
}

/** Statements the writer runs; positional arguments are built in this file only. */
const WRITER_STATEMENTS = {
  channel: 'INSERT OR IGNORE INTO room_channels (room_id, name, created_at) VALUES (?, ?, ?)',
  message: `INSERT INTO room_messages (room_id, channel, author_kind, author_id, author_name, act, text, reply_to, mentions, attachments, signed, verified, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  delivered: `INSERT INTO room_deliveries (room_id, member_id, delivered_upto, updated_at) VALUES (?, ?, ?, ?)
              ON CONFLICT (room_id, member_id) DO UPDATE SET delivered_upto = excluded.delivered_upto, updated_at = excluded.updated_at
              WHERE excluded.delivered_upto > room_deliveries.delivered_upto`,
};
/** Batches handed to the writer at once: one committing while the next waits, so its thread never idles. */
const MAX_BATCHES_IN_FLIGHT = 2;
/** Upper bound on the messages of one commit (bounds the worst-case latency of a burst). */
const MAX_BATCH = 2000;

export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_QUOTA_BYTES = 100 * 1024 * 1024;
const LOCAL_USER: Author = { kind: 'human', id: LOCAL_USER_ID, name: 'You' };

/** Subjects are compared as keys: case, accents, spacing and punctuation do not matter. */
export function normaliseSubject(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 200);
}
const normaliseOutcome = (s: string): string => s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/**
 * A name that is safe to show and to save anywhere: no folders, no control or reserved characters,
 * no leading dots, not a Windows device name, at most 255 bytes.
 */
export function sanitiseFileName(name: string): string {
  let base = name.normalize('NFC').split(/[\\/]/).pop() ?? '';
  base = base
    // Control characters and bidirectional overrides (a name that reads "txt.exe" backwards).
    .replace(/[\p{Cc}\u200b-\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .replace(/[<>:"|?*]/g, '_')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '')
    .trim();
  if (WINDOWS_RESERVED.test(base)) base = `_${base}`;
  if (Buffer.byteLength(base) > 255) {
    // Cut whole characters (grapheme clusters), never inside one: a cut between the halves of a
    // surrogate pair leaves an invalid name (70 × 🎥 once ended in a lone surrogate).
    const raw = path.extname(base);
    const ext = raw && raw.length < 20 ? raw : '';
    const stem = [...graphemes.segment(base.slice(0, base.length - ext.length))].map((g) => g.segment);
    while (stem.length && Buffer.byteLength(stem.join('') + ext) > 255) stem.pop();
    base = (stem.join('') + ext).replace(/[\s.]+$/, '');
  }
  return base || 'file';
}

const MENTION = /(?:^|[^\w@])@([A-Za-z0-9_.-]{1,64})/g;
/** Shared by every message without mentions or attachments; frozen, so a stray mutation throws instead of spreading. */
const EMPTY: string[] = Object.freeze([]) as unknown as string[];
const EMPTY_LIST_JSON = '[]';
const listJson = (l: readonly string[]): string => (l.length ? JSON.stringify(l) : EMPTY_LIST_JSON);
const parseMentions = (text: string): string[] => {
  const out = new Set<string>();
  for (const m of text.matchAll(MENTION)) out.add(m[1]!.replace(/[.]+$/, '').toLowerCase());
  return [...out];
};

/** FTS5 has its own query syntax; user text becomes a list of quoted terms (AND), last one a prefix. */
export function ftsQuery(q: string): string | null {
  const terms = q.match(/[\p{L}\p{N}_]+/gu) ?? [];
  if (!terms.length) return null;
  return terms
    .slice(0, 20)
    .map((t, i, all) => `"${t}"${i === all.length - 1 ? '*' : ''}`)
    .join(' ');
}

interface RoomRow {
  id: string;
  name: string;
  owner: string;
  roles: string;
  veto_roles: string;
  approver_role: string | null;
  default_rule: QuorumRule;
  max_file_bytes: number;
  quota_bytes: number;
  created_at: number;
}
interface MemberRow {
  room_id: string;
  member_id: string;
  kind: Member['kind'];
  name: string;
  roles: string;
  weight: number;
  can_vote: number;
  last_read_id: number;
  joined_at: number;
}
interface MessageRow {
  id: number;
  room_id: string;
  channel: string;
  author_kind: Author['kind'];
  author_id: string;
  author_name: string;
  act: Message['act'];
  text: string;
  reply_to: number | null;
  mentions: string;
  attachments: string;
  signed: number;
  verified: number;
  created_at: number;
  replies?: number;
}
interface TaskRow {
  id: number;
  room_id: string;
  title: string;
  assignee: string | null;
  progress: number;
  done: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}
interface ProposalRow {
  id: number;
  room_id: string;
  message_id: number;
  kind: Proposal['kind'];
  title: string;
  subject: string;
  outcome: string;
  rule: QuorumRule;
  deadline: number | null;
  status: Proposal['status'];
  reason: string | null;
  created_by: string;
  created_at: number;
  closed_at: number | null;
}
interface VoteRow {
  member_id: string;
  member_name: string;
  choice: 'yes' | 'no' | 'abstain';
  weight: number;
  veto: number;
  cast_at: number;
}
interface DecisionRow {
  id: number;
  room_id: string;
  proposal_id: number;
  title: string;
  subject: string;
  outcome: string;
  rule: QuorumRule;
  record: string;
  contradicts: string;
  warning: string | null;
  decided_at: number;
}
interface FileRow {
  id: string;
  room_id: string;
  name: string;
  sha256: string;
  size: number;
  mime: string;
  uploaded_by: string;
  created_at: number;
}

const toRoom = (r: RoomRow): Room => ({
  id: r.id,
  name: r.name,
  owner: r.owner,
  roles: JSON.parse(r.roles) as string[],
  vetoRoles: JSON.parse(r.veto_roles) as string[],
  approverRole: r.approver_role,
  defaultRule: r.default_rule,
  maxFileBytes: r.max_file_bytes,
  quotaBytes: r.quota_bytes,
  createdAt: r.created_at,
});
const toMessage = (r: MessageRow): Message => ({
  id: r.id,
  roomId: r.room_id,
  channel: r.channel,
  author: { kind: r.author_kind, id: r.author_id, name: r.author_name },
  act: r.act,
  text: r.text,
  replyTo: r.reply_to,
  mentions: JSON.parse(r.mentions) as string[],
  attachments: JSON.parse(r.attachments) as string[],
  signed: r.signed === 1,
  verified: r.verified === 1,
  createdAt: r.created_at,
  replies: r.replies ?? 0,
});
const toTask = (r: TaskRow): Task => ({
  id: r.id,
  roomId: r.room_id,
  title: r.title,
  assignee: r.assignee,
  progress: r.progress,
  done: r.done === 1,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toFile = (r: FileRow): FileInfo => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  size: r.size,
  sha256: r.sha256,
  mime: r.mime,
  uploadedBy: r.uploaded_by,
  createdAt: r.created_at,
});

type Tally = Proposal['tally'];
type Verdict = { status: Proposal['status']; reason: string } | null;

/**
 * Decides a proposal from its votes. Every threshold is over everyone allowed to vote (the eligible
 * members or their weight), never over the votes cast: a proposal passes once enough of the room
 * said yes. A deadline ends the vote but never turns silence into consent: what has not passed by
 * then expires. Abstentions count as having voted but never for or against.
 */
export function judge(rule: QuorumRule, t: Tally, final: boolean): Verdict {
  const { yes: Y, no: N, eligible: E } = t;
  if (E <= 0) return final ? { status: 'expired', reason: 'nobody in the room may vote' } : null;
  switch (rule) {
    case 'majority':
    case 'weighted': {
      const unit = rule === 'weighted' ? 'of the voting weight' : 'of the members';
      if (2 * Y > E) return { status: 'passed', reason: `yes from more than half ${unit}` };
      if (2 * N >= E) return { status: 'rejected', reason: `no from at least half ${unit}` };
      if (!final) return null;
      return { status: 'expired', reason: `the deadline passed without yes from more than half ${unit} (${Y} yes, ${N} no of ${E})` };
    }
    case 'two-thirds': {
      if (3 * Y >= 2 * E) return { status: 'passed', reason: 'yes from at least two thirds of the members' };
      if (3 * N > E) return { status: 'rejected', reason: 'no from more than a third of the members' };
      if (!final) return null;
      return { status: 'expired', reason: `the deadline passed without yes from two thirds of the members (${Y} yes, ${N} no of ${E})` };
    }
    case 'unanimous': {
      if (N > 0) return { status: 'rejected', reason: 'a member voted no' };
      if (t.voters >= E && Y > 0) return { status: 'passed', reason: 'every member voted and none voted no' };
      if (!final) return null;
      return { status: 'expired', reason: `the deadline passed before every member voted (${t.voters} of ${E})` };
    }
  }
}

export function createRoomsService(deps: RoomsDeps): RoomsService {
  const { db, bus, now } = deps;
  const rand = deps.randomBytes ?? crypto.randomBytes;
  const schedule =
    deps.schedule ??
    ((fn: () => void, ms: number) => {
      const t = setTimeout(fn, Math.min(Math.max(ms, 0), 2_147_000_000));
      t.unref();
      return () => clearTimeout(t);
    });
  const filesDir = path.join(deps.dataDir, 'files');

  const q = {
    room: db.prepare('SELECT * FROM rooms WHERE id = ?'),
    insertRoom: db.prepare(
      'INSERT INTO rooms (id, name, owner, roles, veto_roles, approver_role, default_rule, max_file_bytes, quota_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    member: db.prepare('SELECT * FROM room_members WHERE room_id = ? AND member_id = ?'),
    members: db.prepare('SELECT * FROM room_members WHERE room_id = ? ORDER BY joined_at, rowid'),
    insertMember: db.prepare(
      'INSERT INTO room_members (room_id, member_id, kind, name, roles, weight, can_vote, last_read_id, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)',
    ),
    updateMember: db.prepare('UPDATE room_members SET roles = ?, weight = ?, can_vote = ? WHERE room_id = ? AND member_id = ?'),
    insertChannel: db.prepare('INSERT OR IGNORE INTO room_channels (room_id, name, created_at) VALUES (?, ?, ?)'),
    channels: db.prepare('SELECT name FROM room_channels WHERE room_id = ? ORDER BY name'),
    insertMessage: db.prepare(
      `INSERT INTO room_messages (room_id, channel, author_kind, author_id, author_name, act, text, reply_to, mentions, attachments, signed, verified, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    ),
    messageById: db.prepare(
      'SELECT m.*, (SELECT count(*) FROM room_messages r WHERE r.reply_to = m.id) AS replies FROM room_messages m WHERE m.id = ?',
    ),
    messageRoom: db.prepare('SELECT room_id FROM room_messages WHERE id = ?'),
    fileInRoom: db.prepare('SELECT 1 FROM room_files WHERE id = ? AND room_id = ?'),
    markDelivered: db.prepare(
      `INSERT INTO room_deliveries (room_id, member_id, delivered_upto, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (room_id, member_id) DO UPDATE SET delivered_upto = excluded.delivered_upto, updated_at = excluded.updated_at
       WHERE excluded.delivered_upto > room_deliveries.delivered_upto`,
    ),
    deliveries: db.prepare(
      `SELECT d.member_id, d.updated_at FROM room_messages m JOIN room_deliveries d ON d.room_id = m.room_id
       WHERE m.id = ? AND d.delivered_upto >= m.id AND d.member_id != m.author_id ORDER BY d.member_id`,
    ),
    task: db.prepare('SELECT * FROM room_tasks WHERE id = ?'),
    tasks: db.prepare('SELECT * FROM room_tasks WHERE room_id = ? ORDER BY done, id'),
    insertTask: db.prepare(
      'INSERT INTO room_tasks (room_id, title, assignee, progress, done, created_by, created_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, ?, ?) RETURNING *',
    ),
    updateTask: db.prepare('UPDATE room_tasks SET assignee = ?, progress = ?, done = ?, updated_at = ? WHERE id = ? RETURNING *'),
    proposal: db.prepare('SELECT * FROM room_proposals WHERE id = ?'),
    insertProposal: db.prepare(
      `INSERT INTO room_proposals (room_id, message_id, kind, title, subject, outcome, rule, deadline, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    ),
    closeProposal: db.prepare('UPDATE room_proposals SET status = ?, reason = ?, closed_at = ? WHERE id = ? AND status = \'open\''),
    votes: db.prepare('SELECT * FROM room_votes WHERE proposal_id = ? ORDER BY cast_at, member_id'),
    upsertVote: db.prepare(
      `INSERT INTO room_votes (proposal_id, member_id, member_name, choice, weight, veto, cast_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (proposal_id, member_id) DO UPDATE SET choice = excluded.choice, weight = excluded.weight, veto = excluded.veto, cast_at = excluded.cast_at`,
    ),
    dueProposals: db.prepare("SELECT id FROM room_proposals WHERE status = 'open' AND deadline IS NOT NULL AND deadline <= ?"),
    nextDeadline: db.prepare("SELECT min(deadline) AS d FROM room_proposals WHERE status = 'open' AND deadline IS NOT NULL"),
    decisionsBySubject: db.prepare('SELECT * FROM room_decisions WHERE room_id = ? AND subject = ? ORDER BY id'),
    insertDecision: db.prepare(
      `INSERT INTO room_decisions (room_id, proposal_id, title, subject, outcome, rule, record, contradicts, warning, decided_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    ),
    decisions: db.prepare('SELECT * FROM room_decisions WHERE room_id = ? ORDER BY id DESC'),
    file: db.prepare('SELECT * FROM room_files WHERE id = ?'),
    files: db.prepare('SELECT * FROM room_files WHERE room_id = ? ORDER BY created_at, id'),
    usedBytes: db.prepare('SELECT coalesce(sum(size), 0) AS n FROM room_files WHERE room_id = ?'),
    insertFile: db.prepare(
      'INSERT INTO room_files (id, room_id, name, sha256, size, mime, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
    ),
  };

  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate();

  // Rooms are not edited after creation and channels are never removed, so both are cached: the
  // message path then reads nothing but the reply and attachment checks.
  const roomCache = new Map<string, RoomRow>();
  const channelCache = new Set<string>();
  const roomRow = (roomId: string): RoomRow => {
    const hit = roomCache.get(roomId);
    if (hit) return hit;
    const r = q.room.get(roomId) as RoomRow | undefined;
    if (!r) throw notFound(`Room ${roomId}`);
    if (roomCache.size > 10_000) roomCache.clear();
    roomCache.set(roomId, r);
    return r;
  };

  const presence = new Map<string, Presence>();
  presence.set(LOCAL_USER_ID, { memberId: LOCAL_USER_ID, name: 'You', state: 'online', at: now() });
  const presenceOf = (memberId: string): Presence['state'] => presence.get(memberId)?.state ?? 'offline';

  const toMember = (r: MemberRow): Member => ({
    roomId: r.room_id,
    id: r.member_id,
    kind: r.kind,
    name: r.name,
    roles: JSON.parse(r.roles) as string[],
    weight: r.weight,
    canVote: r.can_vote === 1,
    presence: presenceOf(r.member_id),
    joinedAt: r.joined_at,
  });

  const checkRoles = (room: RoomRow, roles: string[]): string[] => {
    const allowed = new Set<string>([...builtinRoles, ...(JSON.parse(room.roles) as string[])]);
    const bad = roles.filter((r) => !allowed.has(r));
    if (bad.length)
      throw new AppError('invalid_input', `Unknown role ${bad.map((b) => `"${b}"`).join(', ')} in room "${room.name}". Use ${[...allowed].join(', ')}, or add the role to the room first.`);
    return [...new Set(roles)];
  };

  const requireOwner = (room: RoomRow, by: string | undefined, what: string): void => {
    if (by !== undefined && by !== room.owner)
      throw new AppError('forbidden', `Only the room's owner can ${what}. Ask the owner of "${room.name}".`);
  };

  const newId = (prefix: string, bytes: number): string => `${prefix}${rand(bytes).toString('hex')}`;

  const createRoom: RoomsService['createRoom'] = (input) => {
    const owner = input.owner ?? LOCAL_USER;
    const custom = [...new Set(input.roles ?? [])].filter((r) => !(builtinRoles as readonly string[]).includes(r));
    const id = newId('r_', 6);
    const t = now();
    const create = (): void => {
      q.insertRoom.run(
        id,
        input.name.trim(),
        owner.id,
        JSON.stringify(custom),
        JSON.stringify([...new Set(input.vetoRoles ?? [])]),
        input.approverRole ?? null,
        input.defaultRule ?? 'majority',
        input.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
        input.quotaBytes ?? DEFAULT_QUOTA_BYTES,
        t,
      );
      const row = roomRow(id);
      checkRoles(row, [...(input.vetoRoles ?? []), ...(input.approverRole ? [input.approverRole] : [])]);
      // The owner votes whoever they are: they made the room.
      q.insertMember.run(id, owner.id, owner.kind, owner.name, JSON.stringify(['coordinator']), 1, 1, t);
      q.insertChannel.run(id, 'general', t);
    };
    try {
      tx(create);
    } catch (err) {
      roomCache.delete(id); // rolled back: forget what roomRow cached inside the transaction
      throw err;
    }
    return toRoom(roomRow(id));
  };

  const addMember: RoomsService['addMember'] = (input) => {
    const room = roomRow(input.roomId);
    requireOwner(room, input.by, 'add members');
    const roles = checkRoles(room, input.roles ?? []);
    if (q.member.get(room.id, input.member.id))
      throw new AppError('conflict', `${input.member.name} is already a member of "${room.name}". Change their roles instead.`);
    const canVote = input.canVote ?? input.member.kind === 'human';
    tx(() => q.insertMember.run(room.id, input.member.id, input.member.kind, input.member.name, JSON.stringify(roles), input.weight ?? 1, canVote ? 1 : 0, now()));
    return toMember(q.member.get(room.id, input.member.id) as MemberRow);
  };

  const getMember = (roomId: string, memberId: string): Member | undefined => {
    const r = q.member.get(roomId, memberId) as MemberRow | undefined;
    return r ? toMember(r) : undefined;
  };

  const ensureMember: RoomsService['ensureMember'] = (roomId, author, roles) => {
    const existing = getMember(roomId, author.id);
    if (existing) return existing;
    const room = roomRow(roomId);
    const ok = checkRoles(room, roles.filter((r) => (builtinRoles as readonly string[]).includes(r) || (JSON.parse(room.roles) as string[]).includes(r)));
    // Joining by oneself gives a vote to people only: an agent votes once the owner gives it one.
    tx(() => q.insertMember.run(roomId, author.id, author.kind, author.name, JSON.stringify(ok), 1, author.kind === 'human' ? 1 : 0, now()));
    return getMember(roomId, author.id)!;
  };

  const updateMember: RoomsService['updateMember'] = (input) => {
    const room = roomRow(input.roomId);
    requireOwner(room, input.by, "change members' roles or voting weights");
    const cur = q.member.get(room.id, input.memberId) as MemberRow | undefined;
    if (!cur) throw notFound(`Member ${input.memberId} of "${room.name}"`);
    const roles = input.roles ? checkRoles(room, input.roles) : (JSON.parse(cur.roles) as string[]);
    const canVote = input.canVote ?? cur.can_vote === 1;
    tx(() => q.updateMember.run(JSON.stringify(roles), input.weight ?? cur.weight, canVote ? 1 : 0, room.id, input.memberId));
    return getMember(room.id, input.memberId)!;
  };

  // --- messages -------------------------------------------------------------------------------

  const waiters = new Map<string, Set<() => void>>();
  const wake = (roomId: string): void => {
    const set = waiters.get(roomId);
    if (!set) return;
    waiters.delete(roomId);
    for (const w of set) w();
  };

  /** The checks a message must pass before it is written (both write paths); returns its room and mentions. */
  const checkMessage = (input: PostMessageInput): { room: RoomRow; mentions: string[] } => {
    const room = roomRow(input.roomId);
    if (input.replyTo !== undefined) {
      const parent = q.messageRoom.get(input.replyTo) as { room_id: string } | undefined;
      if (!parent || parent.room_id !== room.id)
        throw new AppError('invalid_input', `Message ${input.replyTo} is not in "${room.name}"; reply to a message of this room.`);
    }
    for (const f of input.attachments ?? [])
      if (!q.fileInRoom.get(f, room.id)) throw new AppError('invalid_input', `File ${f} is not in "${room.name}"; upload it to this room first.`);
    // Most messages mention nobody: skip the regex scan and the set when there is no "@" at all.
    const mentions =
      !input.mentions?.length && !input.text.includes('@')
        ? EMPTY
        : [...new Set([...(input.mentions ?? []).map((m) => m.toLowerCase()), ...parseMentions(input.text)])].slice(0, 50);
    return { room, mentions };
  };

  const insertOne = (input: PostMessageInput, t: number): Message => {
    const { room, mentions } = checkMessage(input);
    const channel = input.channel ?? 'general';
    const ck = `${room.id}\u0000${channel}`;
    if (!channelCache.has(ck)) {
      q.insertChannel.run(room.id, channel, t);
      channelCache.add(ck);
    }
    const row = q.insertMessage.get(
      room.id,
      channel,
      input.author.kind,
      input.author.id,
      input.author.name,
      input.act ?? 'inform',
      input.text,
      input.replyTo ?? null,
      JSON.stringify(mentions),
      JSON.stringify(input.attachments ?? []),
      input.signed ? 1 : 0,
      input.verified ? 1 : 0,
      t,
    ) as MessageRow;
    return toMessage(row);
  };

  const publish = (messages: Message[]): void => {
    const rooms = new Set<string>();
    for (const m of messages) {
      bus.publish('rooms.message', m);
      rooms.add(m.roomId);
    }
    for (const r of rooms) wake(r);
  };

  // --- queued writes: group commit through the writer ------------------------------------------
  // Subscribers see each room's messages in id order. Ids are handed out in commit order, so a
  // message committed here while writer batches are under way waits until either a batch comes
  // back with a higher id (it committed before that batch) or every batch handed over before it
  // has come back (nothing committed earlier is still unannounced); it is then merged by id.
  interface QueuedPost {
    message: Omit<Message, 'id' | 'createdAt'>;
    resolve: (m: Message) => void;
    reject: (e: unknown) => void;
  }
  let writer: RoomsWriter | undefined;
  let queue: QueuedPost[] = [];
  let marks = new Map<string, Map<string, number>>();
  let inFlight = 0;
  let submitted = 0;
  let pumpScheduled = false;
  let deferred: { barrier: number; message: Message }[] = [];
  const drained = new Set<() => void>();
  const writeStats = { posts: 0, commits: 0 };

  const writerOf = (): RoomsWriter => {
    if (writer) return writer;
    const mode = deps.writer ?? (db.memory ? 'inline' : 'worker');
    if (mode === 'worker') {
      try {
        writer = createWorkerWriter(db.name, WRITER_STATEMENTS, (err) => {
          deps.log?.error({ err }, 'the rooms writer thread failed; writing on the main thread from now on');
          writer = createInlineWriter(db, WRITER_STATEMENTS);
        });
        return writer;
      } catch (err) {
        deps.log?.error({ err }, 'the rooms writer thread could not start; writing on the main thread');
      }
    }
    return (writer = createInlineWriter(db, WRITER_STATEMENTS));
  };

  const announce = (messages: Message[]): void => {
    if (inFlight === 0) publish(messages);
    else for (const message of messages) deferred.push({ barrier: submitted, message });
  };

  const schedulePump = (): void => {
    if (pumpScheduled || closed) return;
    pumpScheduled = true;
    setImmediate(pump);
  };

  const settle = (seq: number, committed: Message[]): void => {
    inFlight--;
    let out = committed;
    if (deferred.length) {
      const top = committed.length ? committed[committed.length - 1]!.id : 0;
      const ready = deferred.filter((d) => d.barrier <= seq || d.message.id < top);
      if (ready.length) {
        deferred = deferred.filter((d) => !(d.barrier <= seq || d.message.id < top));
        out = committed.concat(ready.map((d) => d.message)).sort((a, b) => a.id - b.id);
      }
    }
    publish(out);
    if (queue.length || marks.size) schedulePump();
    else if (inFlight === 0) for (const d of [...drained]) d();
  };

  function pump(): void {
    pumpScheduled = false;
    if (closed || inFlight >= MAX_BATCHES_IN_FLIGHT || (!queue.length && !marks.size)) return;
    const batch = queue.length > MAX_BATCH ? queue.splice(0, MAX_BATCH) : queue;
    if (batch === queue) queue = [];
    const batchMarks = marks;
    marks = new Map();
    const t = now();
    const ops: WriteOp[] = [];
    const at: number[] = [];
    const newChannels = new Set<string>();
    for (const p of batch) {
      const m = p.message;
      const ck = `${m.roomId}\u0000${m.channel}`;
      if (!channelCache.has(ck) && !newChannels.has(ck)) {
        newChannels.add(ck);
        ops.push(['channel', [m.roomId, m.channel, t]]);
      }
      at.push(ops.length);
      ops.push([
        'message',
        [m.roomId, m.channel, m.author.kind, m.author.id, m.author.name, m.act, m.text, m.replyTo, listJson(m.mentions), listJson(m.attachments), m.signed ? 1 : 0, m.verified ? 1 : 0, t],
      ]);
    }
    for (const [member, rooms] of batchMarks) for (const [roomId, upTo] of rooms) ops.push(['delivered', [roomId, member, upTo, t]]);
    inFlight++;
    const seq = ++submitted;
    writerOf()
      .run(ops)
      .then(
        (results) => {
          for (const ck of newChannels) channelCache.add(ck);
          const committed: Message[] = [];
          for (let i = 0; i < batch.length; i++) {
            const p = batch[i]!;
            const r = results[at[i]!];
            if (typeof r === 'number') {
              // The same object goes to the poster and to the rooms.message subscribers (the bridge
              // serialises it once for both), with the field order of the Message type.
              const q = p.message;
              const m: Message = {
                id: r,
                roomId: q.roomId,
                channel: q.channel,
                author: q.author,
                act: q.act,
                text: q.text,
                replyTo: q.replyTo,
                mentions: q.mentions,
                attachments: q.attachments,
                signed: q.signed,
                verified: q.verified,
                createdAt: t,
                replies: 0,
              };
              committed.push(m);
              p.resolve(m);
            } else p.reject(new AppError('failed', `The message was not saved (${r?.error ?? 'no result'}). Send it again.`));
          }
          writeStats.posts += committed.length;
          writeStats.commits++;
          settle(seq, committed);
        },
        (err: unknown) => {
          deps.log?.error({ err }, 'a group commit of room messages failed');
          for (const p of batch) p.reject(new AppError('unavailable', `The message was not saved: ${(err as Error).message}. Send it again.`));
          settle(seq, []);
        },
      );
    if (queue.length) schedulePump();
  }

  const postQueued: RoomsService['postQueued'] = (input) => {
    try {
      if (closed) throw new AppError('unavailable', 'Rooms are shutting down; send the message again once OmniSight is back.');
      const { room, mentions } = checkMessage(input);
      const message: QueuedPost['message'] = {
        roomId: room.id,
        channel: input.channel ?? 'general',
        author: { kind: input.author.kind, id: input.author.id, name: input.author.name },
        act: input.act ?? 'inform',
        text: input.text,
        replyTo: input.replyTo ?? null,
        mentions,
        attachments: input.attachments ?? EMPTY,
        signed: !!input.signed,
        verified: !!input.verified,
        replies: 0,
      };
      return new Promise<Message>((resolve, reject) => {
        queue.push({ message, resolve, reject });
        schedulePump();
      });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };

  const recordDeliveryLater: RoomsService['recordDeliveryLater'] = (memberId, list) => {
    let mine = marks.get(memberId);
    for (const m of list) {
      if (!roomCache.has(m.roomId) && !q.room.get(m.roomId)) continue;
      if (!mine) marks.set(memberId, (mine = new Map()));
      if (m.upTo > (mine.get(m.roomId) ?? 0)) mine.set(m.roomId, m.upTo);
    }
    if (mine) schedulePump();
  };

  const flushWrites: RoomsService['flushWrites'] = () =>
    inFlight === 0 && !queue.length && !marks.size
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const d = (): void => {
            drained.delete(d);
            resolve();
          };
          drained.add(d);
          schedulePump();
        });

  const postMessage: RoomsService['postMessage'] = (input) => {
    const m = tx(() => insertOne(input, now()));
    announce([m]);
    return m;
  };

  const postMany: RoomsService['postMany'] = (inputs) => {
    const t = now();
    const results: PostResult[] = tx(() =>
      inputs.map((input): PostResult => {
        try {
          // A savepoint per message: one bad message does not undo the others.
          return { ok: true, message: db.transaction(() => insertOne(input, t))() };
        } catch (err) {
          if (err instanceof AppError) return { ok: false, error: err };
          throw err;
        }
      }),
    );
    announce(results.flatMap((r) => (r.ok ? [r.message] : [])));
    return results;
  };

  const listMessages: RoomsService['listMessages'] = (input) => {
    roomRow(input.roomId);
    const where = ['m.room_id = ?'];
    const args: (string | number)[] = [input.roomId];
    if (input.thread !== undefined) {
      where.push('(m.id = ? OR m.reply_to = ?)');
      args.push(input.thread, input.thread);
    }
    if (input.channel) {
      where.push('m.channel = ?');
      args.push(input.channel);
    }
    const ascending = input.before === undefined;
    if (input.after !== undefined) {
      where.push('m.id > ?');
      args.push(input.after);
    }
    if (input.before !== undefined) {
      where.push('m.id < ?');
      args.push(input.before);
    }
    // Without after/before: the latest page, shown oldest first.
    const latest = input.after === undefined && input.before === undefined;
    const order = ascending && !latest ? 'ASC' : 'DESC';
    const rows = db
      .prepare(
        `SELECT m.*, (SELECT count(*) FROM room_messages r WHERE r.reply_to = m.id) AS replies FROM room_messages m
         WHERE ${where.join(' AND ')} ORDER BY m.id ${order} LIMIT ?`,
      )
      .all(...args, input.limit + 1) as MessageRow[];
    const hasMore = rows.length > input.limit;
    const page = rows.slice(0, input.limit).map(toMessage);
    if (order === 'DESC') page.reverse();
    return { messages: page, hasMore };
  };

  const getMessage = (id: number): Message | undefined => {
    const r = q.messageById.get(id) as MessageRow | undefined;
    return r ? toMessage(r) : undefined;
  };

  const waitForMessages: RoomsService['waitForMessages'] = (input) => {
    roomRow(input.roomId);
    const limit = input.limit ?? 100;
    const fetch = (): Message[] =>
      listMessages({ roomId: input.roomId, after: input.after, limit: 500 })
        .messages.filter((m) => m.author.id !== input.excludeAuthor)
        .slice(0, limit);
    const first = fetch();
    if (first.length) return Promise.resolve(first);
    return new Promise((resolve) => {
      let set: Set<() => void> | undefined;
      const onWake = (): void => {
        const got = fetch();
        if (got.length) {
          clearTimeout(timer);
          resolve(got);
        } else {
          set = waiters.get(input.roomId) ?? new Set();
          waiters.set(input.roomId, set);
          set.add(onWake);
        }
      };
      const timer = setTimeout(() => {
        waiters.get(input.roomId)?.delete(onWake);
        resolve([]);
      }, input.timeoutMs);
      set = waiters.get(input.roomId) ?? new Set();
      waiters.set(input.roomId, set);
      set.add(onWake);
    });
  };

  const markRead: RoomsService['markRead'] = (roomId, memberId, upTo) => {
    roomRow(roomId);
    tx(() => db.prepare('UPDATE room_members SET last_read_id = max(last_read_id, ?) WHERE room_id = ? AND member_id = ?').run(upTo, roomId, memberId));
    const r = db
      .prepare(
        `SELECT count(*) AS n FROM room_messages m JOIN room_members u ON u.room_id = m.room_id AND u.member_id = ?
         WHERE m.room_id = ? AND m.id > u.last_read_id AND m.author_id != ?`,
      )
      .get(memberId, roomId, memberId) as { n: number };
    return r.n;
  };

  const recordDelivery: RoomsService['recordDelivery'] = (memberId, marks) => {
    const t = now();
    return tx(() => {
      let n = 0;
      for (const m of marks) {
        if (!roomCache.has(m.roomId) && !q.room.get(m.roomId)) continue;
        n += q.markDelivered.run(m.roomId, memberId, m.upTo, t).changes;
      }
      return n;
    });
  };

  const listRooms: RoomsService['listRooms'] = (member = LOCAL_USER_ID) => {
    const rows = db
      .prepare(
        `SELECT r.*,
           (SELECT count(*) FROM room_members x WHERE x.room_id = r.id) AS members,
           (SELECT max(created_at) FROM room_messages x WHERE x.room_id = r.id) AS last_at,
           (SELECT count(*) FROM room_messages x WHERE x.room_id = r.id AND x.author_id != ?
              AND x.id > coalesce((SELECT last_read_id FROM room_members u WHERE u.room_id = r.id AND u.member_id = ?), 0)) AS unread
         FROM rooms r ORDER BY coalesce(last_at, r.created_at) DESC, r.id`,
      )
      .all(member, member) as (RoomRow & { members: number; last_at: number | null; unread: number })[];
    return rows.map((r): RoomListItem => ({ ...toRoom(r), unread: r.unread, members: r.members, lastMessageAt: r.last_at }));
  };

  // --- tasks ----------------------------------------------------------------------------------

  const publishTask = (t: Task): Task => {
    bus.publish('rooms.task', t);
    return t;
  };
  const createTask: RoomsService['createTask'] = (input) => {
    roomRow(input.roomId);
    const t = now();
    return publishTask(toTask(tx(() => q.insertTask.get(input.roomId, input.title, input.assignee ?? null, input.by, t, t)) as TaskRow));
  };
  const updateTask: RoomsService['updateTask'] = (input) => {
    const cur = q.task.get(input.taskId) as TaskRow | undefined;
    if (!cur || (input.roomId !== undefined && cur.room_id !== input.roomId)) throw notFound(`Task ${input.taskId}`);
    const done = input.done ?? (input.progress === 100 ? true : cur.done === 1);
    const progress = input.progress ?? (input.done ? 100 : cur.progress);
    const assignee = input.assignee === undefined ? cur.assignee : input.assignee;
    return publishTask(toTask(tx(() => q.updateTask.get(assignee, progress, done ? 1 : 0, now(), input.taskId)) as TaskRow));
  };

  // --- proposals, votes, decisions ------------------------------------------------------------

  const mayVote = (m: MemberRow): boolean => m.can_vote === 1 && (JSON.parse(m.roles) as string[]).some((r) => r !== 'observer');
  const eligibleMembers = (roomId: string): MemberRow[] => (q.members.all(roomId) as MemberRow[]).filter(mayVote);

  /** A person who may approve an action on cameras in this room: the owner, or a holder of the approver role. */
  const isApprover = (room: RoomRow, m: MemberRow): boolean =>
    m.kind === 'human' && mayVote(m) && (m.member_id === room.owner || (room.approver_role !== null && (JSON.parse(m.roles) as string[]).includes(room.approver_role)));
  const approverText = (room: RoomRow): string => (room.approver_role ? `the room's owner or a person with the role ${room.approver_role}` : "the room's owner");

  /** For proposals that act on cameras: who approved (a yes) or refused (a no) among the approvers. */
  const approvalOf = (p: ProposalRow, votes: VoteRow[]): { needed: boolean; by: string | null; refusedBy: string | null } => {
    if (!fleetActionKinds.includes(p.kind)) return { needed: false, by: null, refusedBy: null };
    const room = roomRow(p.room_id);
    let by: string | null = null;
    let refusedBy: string | null = null;
    for (const v of votes) {
      const m = q.member.get(p.room_id, v.member_id) as MemberRow | undefined;
      if (!m || !isApprover(room, m)) continue;
      if (v.choice === 'yes') by ??= m.member_id;
      else if (v.choice === 'no') refusedBy ??= m.name;
    }
    return { needed: true, by, refusedBy };
  };

  /** judge() plus the rule for actions on cameras: no pass without a person's approval, a no from an approver rejects. */
  const decide = (p: ProposalRow, votes: VoteRow[], final: boolean): Verdict => {
    const approval = approvalOf(p, votes);
    if (approval.refusedBy) return { status: 'rejected', reason: `${approval.refusedBy} voted no, and this acts on cameras: it needs their approval` };
    const verdict = judge(p.rule, tallyOf(p, votes), final);
    if (!approval.needed || verdict?.status !== 'passed' || approval.by) return verdict;
    const who = approverText(roomRow(p.room_id));
    return final ? { status: 'expired', reason: `the deadline passed without a yes from ${who}; an action on cameras needs it` } : null;
  };

  const tallyOf = (p: ProposalRow, votes: VoteRow[]): Proposal['tally'] => {
    const weighted = p.rule === 'weighted';
    const eligible = eligibleMembers(p.room_id);
    const current = new Map(eligible.map((m) => [m.member_id, m]));
    const t = { yes: 0, no: 0, abstain: 0, eligible: 0, voters: 0 };
    for (const m of eligible) t.eligible += weighted ? m.weight : 1;
    for (const v of votes) {
      if (!current.has(v.member_id)) continue; // left the room or lost their voting role
      t[v.choice] += weighted ? v.weight : 1;
      t.voters++;
    }
    return t;
  };

  const toVote = (v: VoteRow): Proposal['votes'][number] => ({
    memberId: v.member_id,
    name: v.member_name,
    choice: v.choice,
    weight: v.weight,
    veto: v.veto === 1,
    at: v.cast_at,
  });

  const toProposal = (p: ProposalRow): Proposal => {
    const votes = q.votes.all(p.id) as VoteRow[];
    return {
      id: p.id,
      roomId: p.room_id,
      messageId: p.message_id,
      title: p.title,
      subject: p.subject,
      outcome: p.outcome,
      rule: p.rule,
      deadline: p.deadline,
      status: p.status,
      createdBy: p.created_by,
      createdAt: p.created_at,
      closedAt: p.closed_at,
      reason: p.reason,
      kind: p.kind,
      needsApproval: fleetActionKinds.includes(p.kind),
      approvedBy: approvalOf(p, votes).by,
      tally: tallyOf(p, votes),
      votes: votes.map(toVote),
    };
  };

  const toDecision = (d: DecisionRow): Decision => {
    const record = JSON.parse(d.record) as { votes: Decision['votes']; tally: Decision['tally'] };
    return {
      id: d.id,
      roomId: d.room_id,
      proposalId: d.proposal_id,
      title: d.title,
      subject: d.subject,
      outcome: d.outcome,
      rule: d.rule,
      votes: record.votes,
      tally: record.tally,
      contradicts: JSON.parse(d.contradicts) as number[],
      warning: d.warning,
      decidedAt: d.decided_at,
    };
  };

  const proposalRow = (id: number): ProposalRow => {
    const p = q.proposal.get(id) as ProposalRow | undefined;
    if (!p) throw notFound(`Proposal ${id}`);
    return p;
  };

  /** Closes the proposal inside the caller's transaction; a pass becomes a decision. */
  const close = (p: ProposalRow, verdict: NonNullable<Verdict>, t: number): Decision | undefined => {
    q.closeProposal.run(verdict.status, verdict.reason, t, p.id);
    if (verdict.status !== 'passed') return undefined;
    const full = toProposal(proposalRow(p.id));
    const earlier = q.decisionsBySubject.all(p.room_id, p.subject) as DecisionRow[];
    const clash = earlier.filter((d) => normaliseOutcome(d.outcome) !== normaliseOutcome(p.outcome));
    const warning = clash.length
      ? `This decision ("${p.outcome}") contradicts ${clash.length === 1 ? 'an earlier decision' : `${clash.length} earlier decisions`} on "${p.subject}": ${clash
          .map((d) => `#${d.id} "${d.outcome}"`)
          .join(', ')}. Check which one holds, and supersede the other explicitly.`
      : null;
    const row = q.insertDecision.get(
      p.room_id,
      p.id,
      p.title,
      p.subject,
      p.outcome,
      p.rule,
      JSON.stringify({ votes: full.votes, tally: full.tally }),
      JSON.stringify(clash.map((d) => d.id)),
      warning,
      t,
    ) as DecisionRow;
    return toDecision(row);
  };

  let cancelTimer: (() => void) | undefined;
  let closed = false;
  const rearm = (): void => {
    cancelTimer?.();
    cancelTimer = undefined;
    if (closed) return;
    const next = (q.nextDeadline.get() as { d: number | null }).d;
    if (next === null) return;
    cancelTimer = schedule(() => {
      cancelTimer = undefined;
      try {
        closeDueVotes();
      } catch (err) {
        deps.log?.error({ err }, 'closing votes at their deadline failed');
      }
    }, next - now());
  };

  const publishOutcome = (p: Proposal, d: Decision | undefined): void => {
    bus.publish('rooms.vote', p);
    if (d) bus.publish('rooms.decision', d);
  };

  const propose: RoomsService['propose'] = (input) => {
    const room = roomRow(input.roomId);
    const subject = normaliseSubject(input.subject);
    if (!subject) throw new AppError('invalid_input', 'Give the proposal a subject with at least one letter or digit (e.g. "database").');
    const t = now();
    const rule = input.rule ?? room.default_rule;
    const text = input.text ?? `Proposal: ${input.title} — ${input.outcome}`;
    const { message, proposal } = tx(() => {
      const message = insertOne({ roomId: room.id, author: input.by, text, act: 'propose' }, t);
      const row = q.insertProposal.get(
        room.id,
        message.id,
        input.kind ?? 'general',
        input.title,
        subject,
        input.outcome,
        rule,
        input.deadlineMs !== undefined ? t + input.deadlineMs : null,
        input.by.id,
        t,
      ) as ProposalRow;
      return { message, proposal: toProposal(row) };
    });
    announce([message]);
    bus.publish('rooms.vote', proposal);
    rearm();
    return proposal;
  };

  const vote: RoomsService['vote'] = (input) => {
    const t = now();
    const { proposal, decision } = tx(() => {
      const p = proposalRow(input.proposalId);
      const room = roomRow(p.room_id);
      if (p.status !== 'open') throw new AppError('conflict', `Proposal ${p.id} is already closed (${p.status}); votes are no longer counted.`);
      if (p.deadline !== null && p.deadline <= t) throw new AppError('conflict', `The deadline of proposal ${p.id} has passed; votes are no longer counted.`);
      const m = q.member.get(room.id, input.voter) as MemberRow | undefined;
      if (!m) throw new AppError('forbidden', `${input.voter} is not a member of "${room.name}"; ask the owner to add them before they vote.`);
      const roles = JSON.parse(m.roles) as string[];
      if (m.can_vote !== 1)
        throw new AppError('forbidden', `${m.name} joined "${room.name}" without a vote (agents do); only the room's owner can give them one.`);
      if (!roles.some((r) => r !== 'observer'))
        throw new AppError('forbidden', `${m.name} is an observer in "${room.name}" and cannot vote; the owner can give them a voting role.`);
      if (input.veto) {
        const vetoRoles = JSON.parse(room.veto_roles) as string[];
        if (!roles.some((r) => vetoRoles.includes(r)))
          throw new AppError(
            'forbidden',
            vetoRoles.length
              ? `Only members with the role ${vetoRoles.join(' or ')} can veto in "${room.name}".`
              : `Nobody can veto in "${room.name}"; the owner decides which roles may.`,
          );
      }
      const choice = input.veto ? 'no' : input.choice;
      q.upsertVote.run(p.id, m.member_id, m.name, choice, m.weight, input.veto ? 1 : 0, t);
      let decision: Decision | undefined;
      if (input.veto) close(p, { status: 'vetoed', reason: `vetoed by ${m.name} (${roles.join(', ')})` }, t);
      else {
        const verdict = decide(p, q.votes.all(p.id) as VoteRow[], false);
        if (verdict) decision = close(p, verdict, t);
      }
      return { proposal: toProposal(proposalRow(p.id)), decision };
    });
    publishOutcome(proposal, decision);
    if (proposal.status !== 'open') rearm();
    return proposal;
  };

  const closeDueVotes: RoomsService['closeDueVotes'] = () => {
    const t = now();
    const out: { proposal: Proposal; decision: Decision | undefined }[] = tx(() =>
      (q.dueProposals.all(t) as { id: number }[]).map(({ id }) => {
        const p = proposalRow(id);
        const verdict = decide(p, q.votes.all(p.id) as VoteRow[], true)!;
        const decision = close(p, verdict, t);
        return { proposal: toProposal(proposalRow(id)), decision };
      }),
    );
    for (const o of out) publishOutcome(o.proposal, o.decision);
    rearm();
    return out.map((o) => o.proposal);
  };

  // --- files ----------------------------------------------------------------------------------

  const uploadFile: RoomsService['uploadFile'] = (input) => {
    const room = roomRow(input.roomId);
    const name = sanitiseFileName(input.name);
    const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
    if (input.data.length > room.max_file_bytes)
      throw new AppError('too_large', `"${name}" is ${mb(input.data.length)}; files in "${room.name}" are limited to ${mb(room.max_file_bytes)}. Compress or split it.`);
    const sha256 = crypto.createHash('sha256').update(input.data).digest('hex');
    const target = path.join(filesDir, sha256);
    if (!fs.existsSync(target)) {
      fs.mkdirSync(filesDir, { recursive: true });
      const tmp = `${target}.${process.pid}.${rand(4).toString('hex')}.tmp`;
      fs.writeFileSync(tmp, input.data, { mode: 0o600 });
      fs.renameSync(tmp, target);
    }
    const id = newId('f_', 8);
    const row = tx(() => {
      const used = (q.usedBytes.get(room.id) as { n: number }).n;
      if (used + input.data.length > room.quota_bytes)
        throw new AppError(
          'too_large',
          `"${room.name}" has ${mb(room.quota_bytes - used)} of its ${mb(room.quota_bytes)} quota left and "${name}" needs ${mb(input.data.length)}. Remove files or ask the owner to raise the quota.`,
        );
      return q.insertFile.get(id, room.id, name, sha256, input.data.length, input.mime ?? 'application/octet-stream', input.by, now()) as FileRow;
    });
    return toFile(row);
  };

  const listFiles: RoomsService['listFiles'] = (roomId) => {
    const room = roomRow(roomId);
    return {
      files: (q.files.all(roomId) as FileRow[]).map(toFile),
      usedBytes: (q.usedBytes.get(roomId) as { n: number }).n,
      quotaBytes: room.quota_bytes,
    };
  };

  const readFile: RoomsService['readFile'] = (fileId) => {
    const r = q.file.get(fileId) as FileRow | undefined;
    if (!r) throw notFound(`File ${fileId}`);
    let data: Buffer;
    try {
      data = fs.readFileSync(path.join(filesDir, r.sha256));
    } catch {
      throw new AppError('not_found', `The contents of "${r.name}" are missing from ${filesDir}. Restore the folder from a backup or upload the file again.`);
    }
    if (crypto.createHash('sha256').update(data).digest('hex') !== r.sha256)
      throw new AppError('failed', `The stored copy of "${r.name}" is damaged (its hash does not match). Upload it again.`);
    return { file: toFile(r), data };
  };

  // --- search ---------------------------------------------------------------------------------

  const search: RoomsService['search'] = (input) => {
    const match = ftsQuery(input.query);
    if (!match) return [];
    const roomFilter = input.roomId ? 'AND m.room_id = ?' : '';
    const args = input.roomId ? [match, input.roomId, input.limit] : [match, input.limit];
    const messages = db
      .prepare(
        `SELECT m.id, m.room_id, m.created_at, snippet(room_messages_fts, 0, '[', ']', '…', 12) AS snip, bm25(room_messages_fts) AS rank
         FROM room_messages_fts JOIN room_messages m ON m.id = room_messages_fts.rowid
         WHERE room_messages_fts MATCH ? ${roomFilter} ORDER BY rank LIMIT ?`,
      )
      .all(...args) as { id: number; room_id: string; created_at: number; snip: string; rank: number }[];
    const decisions = db
      .prepare(
        `SELECT m.id, m.room_id, m.decided_at AS created_at, m.title || ' — ' || m.outcome AS snip, bm25(room_decisions_fts) AS rank
         FROM room_decisions_fts JOIN room_decisions m ON m.id = room_decisions_fts.rowid
         WHERE room_decisions_fts MATCH ? ${roomFilter} ORDER BY rank LIMIT ?`,
      )
      .all(...args) as { id: number; room_id: string; created_at: number; snip: string; rank: number }[];
    const hits = [
      ...decisions.map((d) => ({ kind: 'decision' as const, ...d })),
      ...messages.map((m) => ({ kind: 'message' as const, ...m })),
    ].sort((a, b) => a.rank - b.rank);
    return hits.slice(0, input.limit).map((h): SearchHit => ({ kind: h.kind, id: h.id, roomId: h.room_id, snippet: h.snip, createdAt: h.created_at }));
  };

  const setPresence: RoomsService['setPresence'] = (memberId, name, state) => {
    const cur = presence.get(memberId);
    if (cur?.state === state) return;
    const p: Presence = { memberId, name, state, at: now() };
    presence.set(memberId, p);
    bus.publish('rooms.presence', p);
  };

  // Deadlines that passed while the app was closed are settled at start.
  closeDueVotes();

  const me = LOCAL_USER;
  const service: RoomsService = {
    createRoom,
    getRoom: (id) => toRoom(roomRow(id)),
    listRooms,
    addMember,
    updateMember,
    ensureMember,
    getMember,
    listMembers: (roomId) => (roomRow(roomId), (q.members.all(roomId) as MemberRow[]).map(toMember)),
    postMessage,
    postMany,
    postQueued,
    recordDeliveryLater,
    flushWrites,
    writeStats: () => ({ ...writeStats, mode: writer?.mode ?? deps.writer ?? (db.memory ? 'inline' : 'worker') }),
    listMessages,
    getMessage,
    waitForMessages,
    markRead,
    recordDelivery,
    deliveries: (id) => (q.deliveries.all(id) as { member_id: string; updated_at: number }[]).map((d) => ({ memberId: d.member_id, at: d.updated_at })),
    listTasks: (roomId) => (roomRow(roomId), (q.tasks.all(roomId) as TaskRow[]).map(toTask)),
    createTask,
    updateTask,
    propose,
    vote,
    getProposal: (id) => toProposal(proposalRow(id)),
    listProposals: (roomId, status) =>
      (db
        .prepare(`SELECT * FROM room_proposals WHERE room_id = ? ${status ? 'AND status = ?' : ''} ORDER BY id DESC`)
        .all(...(status ? [roomId, status] : [roomId])) as ProposalRow[]).map(toProposal),
    closeDueVotes,
    listDecisions: (roomId) => (roomRow(roomId), (q.decisions.all(roomId) as DecisionRow[]).map(toDecision)),
    uploadFile,
    listFiles,
    readFile,
    search,
    setPresence,
    presenceOf,
    close() {
      closed = true;
      cancelTimer?.();
      for (const p of queue.splice(0)) p.reject(new AppError('unavailable', 'Rooms closed before the message was saved. Send it again once OmniSight is back.'));
      for (const d of [...drained]) d();
      void writer?.close();
      for (const set of waiters.values()) for (const w of set) w();
      waiters.clear();
    },
    handlers: {
      'rooms.list': ({ member }) => ({ rooms: listRooms(member) }),
      'rooms.create': (input) => createRoom({ ...input, owner: me }),
      'rooms.get': ({ roomId }) => ({
        room: toRoom(roomRow(roomId)),
        members: service.listMembers(roomId),
        channels: (q.channels.all(roomId) as { name: string }[]).map((c) => c.name),
        open: service.listProposals(roomId, 'open'),
      }),
      'rooms.messages': (input) => listMessages(input),
      'rooms.post': (input) => {
        ensureMember(input.roomId, me, ['coordinator']);
        return postMessage({ ...input, author: me });
      },
      'rooms.markRead': ({ roomId, upTo }) => ({ unread: markRead(roomId, me.id, upTo) }),
      'rooms.members': ({ roomId }) => ({ members: service.listMembers(roomId) }),
      'rooms.addMember': (input) => addMember({ ...input, by: me.id }),
      'rooms.updateMember': (input) => updateMember({ ...input, by: me.id }),
      'rooms.tasks': ({ roomId }) => ({ tasks: service.listTasks(roomId) }),
      'rooms.taskCreate': (input) => createTask({ ...input, by: me.id }),
      'rooms.taskUpdate': (input) => updateTask({ ...input, by: me.id }),
      'rooms.propose': (input) => propose({ ...input, by: me }),
      'rooms.vote': (input) => vote({ ...input, voter: me.id }),
      'rooms.proposals': ({ roomId, status }) => ({ proposals: service.listProposals(roomId, status) }),
      'rooms.decisions': ({ roomId }) => ({ decisions: service.listDecisions(roomId) }),
      'rooms.files.upload': ({ roomId, name, dataBase64, mime }) => {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(dataBase64)) throw new AppError('invalid_input', 'dataBase64 is not standard base64.');
        return uploadFile({ roomId, name, data: Buffer.from(dataBase64, 'base64'), mime, by: me.id });
      },
      'rooms.files.list': ({ roomId }) => listFiles(roomId),
      'rooms.files.download': ({ fileId }) => {
        const { file, data } = readFile(fileId);
        return { file, dataBase64: data.toString('base64') };
      },
      'rooms.search': (input) => ({ hits: search(input) }),
    },
  };
  return service;
}
