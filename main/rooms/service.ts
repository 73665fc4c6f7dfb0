// The rooms service: rooms and members, tasks, search and presence here; messages, votes and
// files in their own modules (messages.ts, votes.ts, files.ts) over the statements of
// statements.ts. Composes them into one RoomsService and its contract handlers.
import crypto from 'node:crypto';
import { builtinRoles, LOCAL_USER_ID, type Author } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { Db } from '../store';
import type { RoomsContext } from './context';
import { createFiles, DEFAULT_MAX_FILE_BYTES, DEFAULT_QUOTA_BYTES } from './files';
import { createMessages } from './messages';
import { createStatements, type MemberRow, type RoomRow, type TaskRow } from './statements';
import type { Member, Presence, Room, RoomListItem, RoomsService, SearchHit, Task } from './types';
import { createVotes } from './votes';

export { judge, normaliseSubject } from './votes';
export { sanitiseFileName, DEFAULT_MAX_FILE_BYTES, DEFAULT_QUOTA_BYTES } from './files';

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

const LOCAL_USER: Author = { kind: 'human', id: LOCAL_USER_ID, name: 'You' };

/** FTS5 has its own query syntax; user text becomes a list of quoted terms (AND), last one a prefix. */
export function ftsQuery(q: string): string | null {
  const terms = q.match(/[\p{L}\p{N}_]+/gu) ?? [];
  if (!terms.length) return null;
  return terms
    .slice(0, 20)
    .map((t, i, all) => `"${t}"${i === all.length - 1 ? '*' : ''}`)
    .join(' ');
}

const toRoom = (r: RoomRow): Room => ({
  id: r.id,
  name: r.name,
  owner: r.owner,
  roles: r.roles,
  vetoRoles: r.veto_roles,
  approverRole: r.approver_role,
  defaultRule: r.default_rule,
  maxFileBytes: r.max_file_bytes,
  quotaBytes: r.quota_bytes,
  createdAt: r.created_at,
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
  const q = createStatements(db);

  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate();

  // Rooms are not edited after creation and channels are never removed, so both are cached: the
  // message path then reads nothing but the reply and attachment checks.
  const roomCache = new Map<string, RoomRow>();
  const channelCache = new Set<string>();
  const roomRow = (roomId: string): RoomRow => {
    const hit = roomCache.get(roomId);
    if (hit) return hit;
    const r = q.room.get(roomId);
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
    roles: r.roles,
    weight: r.weight,
    canVote: r.can_vote === 1,
    presence: presenceOf(r.member_id),
    joinedAt: r.joined_at,
  });

  const checkRoles = (room: RoomRow, roles: string[]): string[] => {
    const allowed = new Set<string>([...builtinRoles, ...room.roles]);
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
    return toMember(q.member.one(room.id, input.member.id));
  };

  const getMember = (roomId: string, memberId: string): Member | undefined => {
    const r = q.member.get(roomId, memberId);
    return r ? toMember(r) : undefined;
  };

  const ensureMember: RoomsService['ensureMember'] = (roomId, author, roles) => {
    const existing = getMember(roomId, author.id);
    if (existing) return existing;
    const room = roomRow(roomId);
    const ok = checkRoles(room, roles.filter((r) => (builtinRoles as readonly string[]).includes(r) || room.roles.includes(r)));
    // Joining by oneself gives a vote to people only: an agent votes once the owner gives it one.
    tx(() => q.insertMember.run(roomId, author.id, author.kind, author.name, JSON.stringify(ok), 1, author.kind === 'human' ? 1 : 0, now()));
    return getMember(roomId, author.id)!;
  };

  const updateMember: RoomsService['updateMember'] = (input) => {
    const room = roomRow(input.roomId);
    requireOwner(room, input.by, "change members' roles or voting weights");
    const cur = q.member.get(room.id, input.memberId);
    if (!cur) throw notFound(`Member ${input.memberId} of "${room.name}"`);
    const roles = input.roles ? checkRoles(room, input.roles) : cur.roles;
    const canVote = input.canVote ?? cur.can_vote === 1;
    tx(() => q.updateMember.run(JSON.stringify(roles), input.weight ?? cur.weight, canVote ? 1 : 0, room.id, input.memberId));
    return getMember(room.id, input.memberId)!;
  };

  const ctx: RoomsContext = {
    db,
    bus,
    now,
    log: deps.log,
    q,
    tx,
    roomRow,
    hasRoom: (roomId) => roomCache.has(roomId) || q.room.get(roomId) !== undefined,
    channelCache,
    randomHex: (bytes) => rand(bytes).toString('hex'),
  };
  const messages = createMessages(ctx, deps.writer);
  const votes = createVotes(ctx, messages, schedule);
  const files = createFiles(ctx, deps.dataDir);
  const { postMessage, listMessages, markRead } = messages;
  const { propose, vote } = votes;
  const { uploadFile, listFiles, readFile } = files;
  const base64 = (b64: string): Buffer => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new AppError('invalid_input', 'dataBase64 is not standard base64.');
    return Buffer.from(b64, 'base64');
  };

  const listRooms: RoomsService['listRooms'] = (member = LOCAL_USER_ID) =>
    q.rooms.all(member, member).map((r): RoomListItem => ({ ...toRoom(r), unread: r.unread, members: r.members, lastMessageAt: r.last_at }));

  // --- tasks ----------------------------------------------------------------------------------

  const publishTask = (t: Task): Task => {
    bus.publish('rooms.task', t);
    return t;
  };
  const createTask: RoomsService['createTask'] = (input) => {
    roomRow(input.roomId);
    const t = now();
    return publishTask(toTask(tx(() => q.insertTask.one(input.roomId, input.title, input.assignee ?? null, input.by, t, t))));
  };
  const updateTask: RoomsService['updateTask'] = (input) => {
    const cur = q.task.get(input.taskId);
    if (!cur || (input.roomId !== undefined && cur.room_id !== input.roomId)) throw notFound(`Task ${input.taskId}`);
    const done = input.done ?? (input.progress === 100 ? true : cur.done === 1);
    const progress = input.progress ?? (input.done ? 100 : cur.progress);
    const assignee = input.assignee === undefined ? cur.assignee : input.assignee;
    return publishTask(toTask(tx(() => q.updateTask.one(assignee, progress, done ? 1 : 0, now(), input.taskId))));
  };

  // --- search ---------------------------------------------------------------------------------

  const search: RoomsService['search'] = (input) => {
    const match = ftsQuery(input.query);
    if (!match) return [];
    const messages = input.roomId ? q.searchMessagesInRoom.all(match, input.roomId, input.limit) : q.searchMessages.all(match, input.limit);
    const decisions = input.roomId ? q.searchDecisionsInRoom.all(match, input.roomId, input.limit) : q.searchDecisions.all(match, input.limit);
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
  votes.closeDueVotes();

  const me = LOCAL_USER;
  const service: RoomsService = {
    createRoom,
    getRoom: (id) => toRoom(roomRow(id)),
    listRooms,
    addMember,
    updateMember,
    ensureMember,
    getMember,
    listMembers: (roomId) => (roomRow(roomId), q.members.all(roomId).map(toMember)),
    postMessage,
    postMany: messages.postMany,
    postQueued: messages.postQueued,
    recordDeliveryLater: messages.recordDeliveryLater,
    flushWrites: messages.flushWrites,
    writeStats: messages.writeStats,
    listMessages,
    getMessage: messages.getMessage,
    waitForMessages: messages.waitForMessages,
    markRead,
    recordDelivery: messages.recordDelivery,
    deliveries: messages.deliveries,
    listTasks: (roomId) => (roomRow(roomId), q.tasks.all(roomId).map(toTask)),
    createTask,
    updateTask,
    propose,
    vote,
    getProposal: votes.getProposal,
    listProposals: votes.listProposals,
    closeDueVotes: votes.closeDueVotes,
    listDecisions: votes.listDecisions,
    uploadFile,
    listFiles,
    readFile,
    beginUpload: files.beginUpload,
    uploadChunk: files.uploadChunk,
    finishUpload: files.finishUpload,
    cancelUpload: files.cancelUpload,
    search,
    setPresence,
    presenceOf,
    close() {
      votes.close();
      messages.close();
      files.close();
    },
    handlers: {
      'rooms.list': ({ member }) => ({ rooms: listRooms(member) }),
      'rooms.create': (input) => createRoom({ ...input, owner: me }),
      'rooms.get': ({ roomId }) => ({
        room: toRoom(roomRow(roomId)),
        members: service.listMembers(roomId),
        channels: q.channels.all(roomId).map((c) => c.name),
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
      'rooms.files.upload': ({ roomId, name, dataBase64, mime }) => uploadFile({ roomId, name, data: base64(dataBase64), mime, by: me.id }),
      'rooms.files.begin': (input) => files.beginUpload({ ...input, by: me.id }),
      'rooms.files.chunk': ({ uploadId, index, dataBase64 }) => files.uploadChunk({ uploadId, index, data: base64(dataBase64), by: me.id }),
      'rooms.files.finish': ({ uploadId }) => files.finishUpload({ uploadId, by: me.id }),
      'rooms.files.cancel': ({ uploadId }) => ({ cancelled: files.cancelUpload({ uploadId, by: me.id }) }),
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
