// Every SQL statement of rooms, and the rows they return decoded by schema (JSON columns included):
// the rest of the folder never writes SQL nor casts a row.
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { authorKinds, proposalKinds, proposalStatuses, quorumRules, speechActs, voteChoices, voteRecordSchema, tallySchema } from '../../preload/contract';
import type { Db } from '../store';

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((s, ctx): z.output<T> => {
    try {
      return schema.parse(JSON.parse(s));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'a JSON column does not hold what it should' });
      return z.NEVER;
    }
  });
const stringList = jsonOf(z.array(z.string()));
const flag = z.union([z.literal(0), z.literal(1)]);

export const roomRowSchema = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  roles: stringList,
  veto_roles: stringList,
  approver_role: z.string().nullable(),
  default_rule: z.enum(quorumRules),
  max_file_bytes: z.number(),
  quota_bytes: z.number(),
  created_at: z.number(),
});
export type RoomRow = z.output<typeof roomRowSchema>;
const roomListRowSchema = roomRowSchema.extend({ members: z.number(), last_at: z.number().nullable(), unread: z.number() });

export const memberRowSchema = z.object({
  room_id: z.string(),
  member_id: z.string(),
  kind: z.enum(authorKinds),
  name: z.string(),
  roles: stringList,
  weight: z.number(),
  can_vote: flag,
  last_read_id: z.number(),
  joined_at: z.number(),
});
export type MemberRow = z.output<typeof memberRowSchema>;

export const messageRowSchema = z.object({
  id: z.number(),
  room_id: z.string(),
  channel: z.string(),
  author_kind: z.enum(authorKinds),
  author_id: z.string(),
  author_name: z.string(),
  act: z.enum(speechActs),
  text: z.string(),
  reply_to: z.number().nullable(),
  mentions: stringList,
  attachments: stringList,
  signed: flag,
  verified: flag,
  created_at: z.number(),
  replies: z.number().optional(),
});
export type MessageRow = z.output<typeof messageRowSchema>;

export const taskRowSchema = z.object({
  id: z.number(),
  room_id: z.string(),
  title: z.string(),
  assignee: z.string().nullable(),
  progress: z.number(),
  done: flag,
  created_by: z.string(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type TaskRow = z.output<typeof taskRowSchema>;

export const proposalRowSchema = z.object({
  id: z.number(),
  room_id: z.string(),
  message_id: z.number(),
  kind: z.enum(proposalKinds),
  title: z.string(),
  subject: z.string(),
  outcome: z.string(),
  rule: z.enum(quorumRules),
  deadline: z.number().nullable(),
  status: z.enum(proposalStatuses),
  reason: z.string().nullable(),
  created_by: z.string(),
  created_at: z.number(),
  closed_at: z.number().nullable(),
});
export type ProposalRow = z.output<typeof proposalRowSchema>;

export const voteRowSchema = z.object({
  proposal_id: z.number(),
  member_id: z.string(),
  member_name: z.string(),
  choice: z.enum(voteChoices),
  weight: z.number(),
  veto: flag,
  cast_at: z.number(),
});
export type VoteRow = z.output<typeof voteRowSchema>;

export const decisionRowSchema = z.object({
  id: z.number(),
  room_id: z.string(),
  proposal_id: z.number(),
  title: z.string(),
  subject: z.string(),
  outcome: z.string(),
  rule: z.enum(quorumRules),
  record: jsonOf(z.object({ votes: z.array(voteRecordSchema), tally: tallySchema })),
  contradicts: jsonOf(z.array(z.number())),
  warning: z.string().nullable(),
  decided_at: z.number(),
});
export type DecisionRow = z.output<typeof decisionRowSchema>;

export const fileRowSchema = z.object({
  id: z.string(),
  room_id: z.string(),
  name: z.string(),
  sha256: z.string(),
  size: z.number(),
  mime: z.string(),
  uploaded_by: z.string(),
  created_at: z.number(),
});
export type FileRow = z.output<typeof fileRowSchema>;

const countSchema = z.object({ n: z.number() });
const searchRowSchema = z.object({ id: z.number(), room_id: z.string(), created_at: z.number(), snip: z.string(), rank: z.number() });

/** A prepared statement whose rows come back decoded (and checked) by a schema. */
export interface Query<Row> {
  get(...args: unknown[]): Row | undefined;
  /** The one row a statement always returns (INSERT … RETURNING, an aggregate). */
  one(...args: unknown[]): Row;
  all(...args: unknown[]): Row[];
  run(...args: unknown[]): Database.RunResult;
}
const query = <S extends z.ZodType>(db: Db, sql: string, schema: S): Query<z.output<S>> => {
  const st = db.prepare(sql);
  return {
    get: (...args) => {
      const r: unknown = st.get(...args);
      return r === undefined ? undefined : schema.parse(r);
    },
    one: (...args) => schema.parse(st.get(...args)),
    all: (...args) => st.all(...args).map((r) => schema.parse(r)),
    run: (...args) => st.run(...args),
  };
};
const write = (db: Db, sql: string): Pick<Database.Statement, 'run'> => db.prepare(sql);

/** Statements the writer thread runs (queued posts, delivery marks); positional arguments are built in messages.ts. */
export const WRITER_STATEMENTS = {
  channel: 'INSERT OR IGNORE INTO room_channels (room_id, name, created_at) VALUES (?, ?, ?)',
  message: `INSERT INTO room_messages (room_id, channel, author_kind, author_id, author_name, act, text, reply_to, mentions, attachments, signed, verified, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  delivered: `INSERT INTO room_deliveries (room_id, member_id, delivered_upto, updated_at) VALUES (?, ?, ?, ?)
              ON CONFLICT (room_id, member_id) DO UPDATE SET delivered_upto = excluded.delivered_upto, updated_at = excluded.updated_at
              WHERE excluded.delivered_upto > room_deliveries.delivered_upto`,
};

export function createStatements(db: Db) {
  const searchIn = (table: 'messages' | 'decisions', byRoom: boolean) =>
    query(
      db,
      table === 'messages'
        ? `SELECT m.id, m.room_id, m.created_at, snippet(room_messages_fts, 0, '[', ']', '…', 12) AS snip, bm25(room_messages_fts) AS rank
           FROM room_messages_fts JOIN room_messages m ON m.id = room_messages_fts.rowid
           WHERE room_messages_fts MATCH ? ${byRoom ? 'AND m.room_id = ?' : ''} ORDER BY rank LIMIT ?`
        : `SELECT m.id, m.room_id, m.decided_at AS created_at, m.title || ' — ' || m.outcome AS snip, bm25(room_decisions_fts) AS rank
           FROM room_decisions_fts JOIN room_decisions m ON m.id = room_decisions_fts.rowid
           WHERE room_decisions_fts MATCH ? ${byRoom ? 'AND m.room_id = ?' : ''} ORDER BY rank LIMIT ?`,
      searchRowSchema,
    );
  /** One statement per combination of filters, prepared on first use. */
  const messagePages = new Map<string, Query<MessageRow>>();

  return {
    room: query(db, 'SELECT * FROM rooms WHERE id = ?', roomRowSchema),
    rooms: query(
      db,
      `SELECT r.*,
         (SELECT count(*) FROM room_members x WHERE x.room_id = r.id) AS members,
         (SELECT max(created_at) FROM room_messages x WHERE x.room_id = r.id) AS last_at,
         (SELECT count(*) FROM room_messages x WHERE x.room_id = r.id AND x.author_id != ?
            AND x.id > coalesce((SELECT last_read_id FROM room_members u WHERE u.room_id = r.id AND u.member_id = ?), 0)) AS unread
       FROM rooms r ORDER BY coalesce(last_at, r.created_at) DESC, r.id`,
      roomListRowSchema,
    ),
    insertRoom: write(
      db,
      'INSERT INTO rooms (id, name, owner, roles, veto_roles, approver_role, default_rule, max_file_bytes, quota_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    member: query(db, 'SELECT * FROM room_members WHERE room_id = ? AND member_id = ?', memberRowSchema),
    members: query(db, 'SELECT * FROM room_members WHERE room_id = ? ORDER BY joined_at, rowid', memberRowSchema),
    insertMember: write(
      db,
      'INSERT INTO room_members (room_id, member_id, kind, name, roles, weight, can_vote, last_read_id, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)',
    ),
    updateMember: write(db, 'UPDATE room_members SET roles = ?, weight = ?, can_vote = ? WHERE room_id = ? AND member_id = ?'),
    markRead: write(db, 'UPDATE room_members SET last_read_id = max(last_read_id, ?) WHERE room_id = ? AND member_id = ?'),
    unread: query(
      db,
      `SELECT count(*) AS n FROM room_messages m JOIN room_members u ON u.room_id = m.room_id AND u.member_id = ?
       WHERE m.room_id = ? AND m.id > u.last_read_id AND m.author_id != ?`,
      countSchema,
    ),
    insertChannel: write(db, 'INSERT OR IGNORE INTO room_channels (room_id, name, created_at) VALUES (?, ?, ?)'),
    channels: query(db, 'SELECT name FROM room_channels WHERE room_id = ? ORDER BY name', z.object({ name: z.string() })),
    insertMessage: query(
      db,
      `INSERT INTO room_messages (room_id, channel, author_kind, author_id, author_name, act, text, reply_to, mentions, attachments, signed, verified, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      messageRowSchema,
    ),
    messageById: query(
      db,
      'SELECT m.*, (SELECT count(*) FROM room_messages r WHERE r.reply_to = m.id) AS replies FROM room_messages m WHERE m.id = ?',
      messageRowSchema,
    ),
    /** A page of messages: the WHERE terms present (room always first), newest or oldest first. */
    messagePage(filters: { thread: boolean; channel: boolean; after: boolean; before: boolean }, order: 'ASC' | 'DESC'): Query<MessageRow> {
      const key = `${+filters.thread}${+filters.channel}${+filters.after}${+filters.before}${order}`;
      let st = messagePages.get(key);
      if (!st) {
        const where = ['m.room_id = ?'];
        if (filters.thread) where.push('(m.id = ? OR m.reply_to = ?)');
        if (filters.channel) where.push('m.channel = ?');
        if (filters.after) where.push('m.id > ?');
        if (filters.before) where.push('m.id < ?');
        st = query(
          db,
          `SELECT m.*, (SELECT count(*) FROM room_messages r WHERE r.reply_to = m.id) AS replies FROM room_messages m
           WHERE ${where.join(' AND ')} ORDER BY m.id ${order} LIMIT ?`,
          messageRowSchema,
        );
        messagePages.set(key, st);
      }
      return st;
    },
    messageRoom: query(db, 'SELECT room_id FROM room_messages WHERE id = ?', z.object({ room_id: z.string() })),
    fileInRoom: db.prepare('SELECT 1 FROM room_files WHERE id = ? AND room_id = ?').pluck(),
    markDelivered: write(db, WRITER_STATEMENTS.delivered),
    deliveries: query(
      db,
      `SELECT d.member_id, d.updated_at FROM room_messages m JOIN room_deliveries d ON d.room_id = m.room_id
       WHERE m.id = ? AND d.delivered_upto >= m.id AND d.member_id != m.author_id ORDER BY d.member_id`,
      z.object({ member_id: z.string(), updated_at: z.number() }),
    ),
    task: query(db, 'SELECT * FROM room_tasks WHERE id = ?', taskRowSchema),
    tasks: query(db, 'SELECT * FROM room_tasks WHERE room_id = ? ORDER BY done, id', taskRowSchema),
    insertTask: query(
      db,
      'INSERT INTO room_tasks (room_id, title, assignee, progress, done, created_by, created_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, ?, ?) RETURNING *',
      taskRowSchema,
    ),
    updateTask: query(db, 'UPDATE room_tasks SET assignee = ?, progress = ?, done = ?, updated_at = ? WHERE id = ? RETURNING *', taskRowSchema),
    proposal: query(db, 'SELECT * FROM room_proposals WHERE id = ?', proposalRowSchema),
    proposals: query(db, 'SELECT * FROM room_proposals WHERE room_id = ? ORDER BY id DESC', proposalRowSchema),
    proposalsWithStatus: query(db, 'SELECT * FROM room_proposals WHERE room_id = ? AND status = ? ORDER BY id DESC', proposalRowSchema),
    insertProposal: query(
      db,
      `INSERT INTO room_proposals (room_id, message_id, kind, title, subject, outcome, rule, deadline, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      proposalRowSchema,
    ),
    closeProposal: write(db, "UPDATE room_proposals SET status = ?, reason = ?, closed_at = ? WHERE id = ? AND status = 'open'"),
    votes: query(db, 'SELECT * FROM room_votes WHERE proposal_id = ? ORDER BY cast_at, member_id', voteRowSchema),
    upsertVote: write(
      db,
      `INSERT INTO room_votes (proposal_id, member_id, member_name, choice, weight, veto, cast_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (proposal_id, member_id) DO UPDATE SET choice = excluded.choice, weight = excluded.weight, veto = excluded.veto, cast_at = excluded.cast_at`,
    ),
    dueProposals: query(db, "SELECT id FROM room_proposals WHERE status = 'open' AND deadline IS NOT NULL AND deadline <= ?", z.object({ id: z.number() })),
    nextDeadline: query(db, "SELECT min(deadline) AS d FROM room_proposals WHERE status = 'open' AND deadline IS NOT NULL", z.object({ d: z.number().nullable() })),
    decisionsBySubject: query(db, 'SELECT * FROM room_decisions WHERE room_id = ? AND subject = ? ORDER BY id', decisionRowSchema),
    insertDecision: query(
      db,
      `INSERT INTO room_decisions (room_id, proposal_id, title, subject, outcome, rule, record, contradicts, warning, decided_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      decisionRowSchema,
    ),
    decisions: query(db, 'SELECT * FROM room_decisions WHERE room_id = ? ORDER BY id DESC', decisionRowSchema),
    file: query(db, 'SELECT * FROM room_files WHERE id = ?', fileRowSchema),
    files: query(db, 'SELECT * FROM room_files WHERE room_id = ? ORDER BY created_at, id', fileRowSchema),
    usedBytes: query(db, 'SELECT coalesce(sum(size), 0) AS n FROM room_files WHERE room_id = ?', countSchema),
    insertFile: query(
      db,
      'INSERT INTO room_files (id, room_id, name, sha256, size, mime, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
      fileRowSchema,
    ),
    searchMessages: searchIn('messages', false),
    searchMessagesInRoom: searchIn('messages', true),
    searchDecisions: searchIn('decisions', false),
    searchDecisionsInRoom: searchIn('decisions', true),
  };
}

export type Statements = ReturnType<typeof createStatements>;
