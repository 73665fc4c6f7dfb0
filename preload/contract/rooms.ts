// Rooms: shared spaces where people and agents post, propose, vote and decide. The same shapes are
// used by the agent bridge and the renderer, so a limit here is the limit everywhere.
import { z } from 'zod';
import { event, method } from './define';

export const builtinRoles = ['coordinator', 'coder', 'reviewer', 'tester', 'observer'] as const;
export const speechActs = ['inform', 'request', 'propose', 'accept', 'reject', 'question'] as const;
export const authorKinds = ['human', 'agent', 'desktop'] as const;
export const quorumRules = ['majority', 'two-thirds', 'unanimous', 'weighted'] as const;
export const voteChoices = ['yes', 'no', 'abstain'] as const;
export const proposalStatuses = ['open', 'passed', 'rejected', 'vetoed', 'expired'] as const;
export const proposalKinds = ['general', 'deploy'] as const;
/** Proposals that act on the fleet: they need a person's approval (the owner or the approver role). */
export const fleetActionKinds: readonly (typeof proposalKinds)[number][] = ['deploy'];
export const presenceStates = ['online', 'idle', 'offline'] as const;

export const MAX_MESSAGE_CHARS = 10_000;

// File limits, stated once. A call travels as one WebSocket message in browser mode (at most 1 MiB),
// so a file goes in one call only up to FILE_CHUNK_BYTES; larger ones travel as numbered chunks of
// that size (rooms.files.begin / chunk / finish), with progress. A room's own limit may be lower.
/** Bytes of file data per call (base64 makes it about 700 kB on the wire). */
export const FILE_CHUNK_BYTES = 512 * 1024;
/** The largest file any room accepts (a room's maxFileBytes is at most this). */
export const MAX_FILE_BYTES = 100 * 1024 * 1024;
const MAX_CHUNK_BASE64 = Math.ceil(FILE_CHUNK_BYTES / 3) * 4;
/** The local person at the keyboard; the owner of the rooms they create. */
export const LOCAL_USER_ID = 'user';

export const roomIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, { message: 'Room ids are letters, digits, "_" and "-"' });
export const memberIdSchema = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[A-Za-z0-9_.:@-]+$/, { message: 'Member ids are letters, digits and "_.:@-"' });
export const displayNameSchema = z
  .string()
  .trim()
  .min(1, { message: 'Give a name' })
  .max(80, { message: 'Names are at most 80 characters' })
  .refine((s) => !/\p{Cc}/u.test(s), { message: 'Names cannot contain control characters' });
export const roleNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, { message: 'Roles are lower-case words (a-z, 0-9, "-"), at most 32 characters' });
export const messageTextSchema = z
  .string()
  .min(1, { message: 'Write something' })
  .max(MAX_MESSAGE_CHARS, { message: `Messages are at most ${MAX_MESSAGE_CHARS} characters; split it or attach a file` });
export const channelNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, { message: 'Channel names are lower-case, at most 32 characters' });
export const subjectSchema = z.string().trim().min(1).max(200);
export const fileNameSchema = z.string().min(1).max(255);
export const fileIdSchema = z.string().regex(/^f_[0-9a-f]{16}$/, { message: 'File ids look like f_ followed by 16 hex digits' });

export const authorSchema = z.object({ kind: z.enum(authorKinds), id: memberIdSchema, name: displayNameSchema }).strict();
export type Author = z.infer<typeof authorSchema>;

export const messageSchema = z.object({
  id: z.number().int(),
  roomId: z.string(),
  channel: z.string(),
  author: authorSchema,
  act: z.enum(speechActs),
  text: z.string(),
  replyTo: z.number().int().nullable(),
  mentions: z.array(z.string()),
  attachments: z.array(z.string()),
  /** A signature came with it (agents may sign with the Ed25519 key registered with their token). */
  signed: z.boolean(),
  /** The signature checked out against that key. */
  verified: z.boolean(),
  createdAt: z.number(),
  replies: z.number().int(),
});
export type Message = z.infer<typeof messageSchema>;

export const roomSchema = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  /** The room's own roles, beside the built-in ones. */
  roles: z.array(z.string()),
  /** Members holding one of these roles may veto a proposal. */
  vetoRoles: z.array(z.string()),
  /**
   * Besides the owner, people holding this role may approve a proposal that acts on cameras (a
   * deploy); null: the owner alone. Such a proposal never passes without that approval.
   */
  approverRole: z.string().nullable(),
  defaultRule: z.enum(quorumRules),
  maxFileBytes: z.number().int(),
  quotaBytes: z.number().int(),
  createdAt: z.number(),
});
export type Room = z.infer<typeof roomSchema>;

export const roomListItemSchema = roomSchema.extend({
  unread: z.number().int(),
  members: z.number().int(),
  lastMessageAt: z.number().nullable(),
});
export type RoomListItem = z.infer<typeof roomListItemSchema>;

export const memberSchema = z.object({
  roomId: z.string(),
  id: z.string(),
  kind: z.enum(authorKinds),
  name: z.string(),
  roles: z.array(z.string()),
  /** Set by the room's owner; used by the weighted quorum rule. */
  weight: z.number(),
  /** May vote. People may; agents and Claude Desktop join without a vote until the owner gives one. */
  canVote: z.boolean(),
  presence: z.enum(presenceStates),
  joinedAt: z.number(),
});
export type Member = z.infer<typeof memberSchema>;

export const taskSchema = z.object({
  id: z.number().int(),
  roomId: z.string(),
  title: z.string(),
  assignee: z.string().nullable(),
  progress: z.number().int().min(0).max(100),
  done: z.boolean(),
  createdBy: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type Task = z.infer<typeof taskSchema>;

export const voteRecordSchema = z.object({
  memberId: z.string(),
  name: z.string(),
  choice: z.enum(voteChoices),
  weight: z.number(),
  veto: z.boolean(),
  at: z.number(),
});
export type VoteRecord = z.infer<typeof voteRecordSchema>;

export const tallySchema = z.object({
  yes: z.number(),
  no: z.number(),
  abstain: z.number(),
  /** Total weight (or head count) of the members allowed to vote. */
  eligible: z.number(),
  voters: z.number().int(),
});

export const proposalSchema = z.object({
  id: z.number().int(),
  roomId: z.string(),
  messageId: z.number().int(),
  title: z.string(),
  subject: z.string(),
  outcome: z.string(),
  rule: z.enum(quorumRules),
  deadline: z.number().nullable(),
  status: z.enum(proposalStatuses),
  createdBy: z.string(),
  createdAt: z.number(),
  closedAt: z.number().nullable(),
  /** Why it closed the way it did, in words. */
  reason: z.string().nullable(),
  /** Deploy proposals carry what to deploy; approving one never deploys by itself. */
  kind: z.enum(proposalKinds),
  /** It acts on cameras: it passes only with a yes from the room's owner (or the approver role). */
  needsApproval: z.boolean(),
  /** The person whose yes approved it (member id), or null. */
  approvedBy: z.string().nullable(),
  tally: tallySchema,
  votes: z.array(voteRecordSchema),
});
export type Proposal = z.infer<typeof proposalSchema>;

export const decisionSchema = z.object({
  id: z.number().int(),
  roomId: z.string(),
  proposalId: z.number().int(),
  title: z.string(),
  subject: z.string(),
  outcome: z.string(),
  rule: z.enum(quorumRules),
  votes: z.array(voteRecordSchema),
  tally: tallySchema,
  /** Earlier decisions on the same subject with a different outcome. */
  contradicts: z.array(z.number().int()),
  warning: z.string().nullable(),
  decidedAt: z.number(),
});
export type Decision = z.infer<typeof decisionSchema>;

export const fileInfoSchema = z.object({
  id: z.string(),
  roomId: z.string(),
  name: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  mime: z.string(),
  uploadedBy: z.string(),
  createdAt: z.number(),
});
export type FileInfo = z.infer<typeof fileInfoSchema>;

export const searchHitSchema = z.object({
  kind: z.enum(['message', 'decision']),
  id: z.number().int(),
  roomId: z.string(),
  snippet: z.string(),
  createdAt: z.number(),
});
export type SearchHit = z.infer<typeof searchHitSchema>;

export const presenceSchema = z.object({
  memberId: z.string(),
  name: z.string(),
  state: z.enum(presenceStates),
  at: z.number(),
});
export type Presence = z.infer<typeof presenceSchema>;

const roomRef = z.object({ roomId: roomIdSchema }).strict();

export const createRoomInputSchema = z
  .object({
    name: displayNameSchema,
    roles: z.array(roleNameSchema).max(20).optional(),
    vetoRoles: z.array(roleNameSchema).max(20).optional(),
    approverRole: roleNameSchema.optional(),
    defaultRule: z.enum(quorumRules).optional(),
    maxFileBytes: z.number().int().min(1).max(MAX_FILE_BYTES).optional(),
    quotaBytes: z.number().int().min(1).max(10 * 1024 * 1024 * 1024).optional(),
  })
  .strict();

export const proposeInputSchema = z
  .object({
    roomId: roomIdSchema,
    title: z.string().trim().min(1).max(200),
    /** What the decision is about; proposals with the same subject can contradict each other. */
    subject: subjectSchema,
    /** What is decided if it passes, e.g. "use PostgreSQL". */
    outcome: z.string().trim().min(1).max(500),
    text: messageTextSchema.optional(),
    rule: z.enum(quorumRules).optional(),
    deadlineMs: z.number().int().min(1000).max(30 * 24 * 3600 * 1000).optional(),
  })
  .strict();

export const roomsMethods = {
  'rooms.list': method(
    'Rooms with unread counts for one member (the local user by default).',
    z.object({ member: memberIdSchema.default(LOCAL_USER_ID) }).strict(),
    z.object({ rooms: z.array(roomListItemSchema) }),
  ),
  'rooms.create': method('Create a room owned by the local user.', createRoomInputSchema, roomSchema),
  'rooms.get': method(
    'One room with its members, channels and open proposals.',
    roomRef,
    z.object({ room: roomSchema, members: z.array(memberSchema), channels: z.array(z.string()), open: z.array(proposalSchema) }),
  ),
  'rooms.messages': method(
    'A page of messages: newest first before `before`, or oldest first after `after`; `thread` limits to one thread.',
    z
      .object({
        roomId: roomIdSchema,
        after: z.number().int().nonnegative().optional(),
        before: z.number().int().positive().optional(),
        thread: z.number().int().positive().optional(),
        channel: channelNameSchema.optional(),
        limit: z.number().int().min(1).max(500).default(100),
      })
      .strict(),
    z.object({ messages: z.array(messageSchema), hasMore: z.boolean() }),
  ),
  'rooms.post': method(
    'Post a message as the local user.',
    z
      .object({
        roomId: roomIdSchema,
        text: messageTextSchema,
        act: z.enum(speechActs).default('inform'),
        replyTo: z.number().int().positive().optional(),
        channel: channelNameSchema.optional(),
        attachments: z.array(fileIdSchema).max(20).optional(),
      })
      .strict(),
    messageSchema,
  ),
  'rooms.markRead': method(
    'Mark messages up to an id as read by the local user.',
    z.object({ roomId: roomIdSchema, upTo: z.number().int().nonnegative() }).strict(),
    z.object({ unread: z.number().int() }),
  ),
  'rooms.members': method('Members, their roles, weights and presence.', roomRef, z.object({ members: z.array(memberSchema) })),
  'rooms.addMember': method(
    'Add a person or agent to a room with roles (the owner only).',
    z
      .object({
        roomId: roomIdSchema,
        member: authorSchema,
        roles: z.array(roleNameSchema).max(10).default([]),
        weight: z.number().min(0).max(100).optional(),
        /** People vote unless told otherwise; agents only when given a vote here. */
        canVote: z.boolean().optional(),
      })
      .strict(),
    memberSchema,
  ),
  'rooms.updateMember': method(
    "Change a member's roles, voting weight or vote (the room's owner only; a voter never sets their own weight).",
    z
      .object({
        roomId: roomIdSchema,
        memberId: memberIdSchema,
        roles: z.array(roleNameSchema).max(10).optional(),
        weight: z.number().min(0).max(100).optional(),
        /** Give or take the member's vote (agents join without one). */
        canVote: z.boolean().optional(),
      })
      .strict(),
    memberSchema,
  ),
  'rooms.tasks': method('The shared task list.', roomRef, z.object({ tasks: z.array(taskSchema) })),
  'rooms.taskCreate': method(
    'Add a task.',
    z.object({ roomId: roomIdSchema, title: z.string().trim().min(1).max(300), assignee: memberIdSchema.optional() }).strict(),
    taskSchema,
  ),
  'rooms.taskUpdate': method(
    'Assign a task, report progress (0–100) or mark it done.',
    z
      .object({
        taskId: z.number().int().positive(),
        assignee: memberIdSchema.nullable().optional(),
        progress: z.number().int().min(0).max(100).optional(),
        done: z.boolean().optional(),
      })
      .strict(),
    taskSchema,
  ),
  'rooms.propose': method('Put a proposal to the vote.', proposeInputSchema, proposalSchema),
  'rooms.vote': method(
    'Vote yes, no or abstain as the local user; `veto` is for members holding a veto role.',
    z.object({ proposalId: z.number().int().positive(), choice: z.enum(voteChoices), veto: z.boolean().optional() }).strict(),
    proposalSchema,
  ),
  'rooms.proposals': method(
    'Proposals in a room, newest first.',
    z.object({ roomId: roomIdSchema, status: z.enum(proposalStatuses).optional() }).strict(),
    z.object({ proposals: z.array(proposalSchema) }),
  ),
  'rooms.decisions': method('Decisions with their vote records, newest first.', roomRef, z.object({ decisions: z.array(decisionSchema) })),
  'rooms.files.upload': method(
    `Attach a small file (base64, at most ${FILE_CHUNK_BYTES / 1024} KiB) to a room in one call; larger files go through rooms.files.begin.`,
    z
      .object({
        roomId: roomIdSchema,
        name: fileNameSchema,
        dataBase64: z.string().max(MAX_CHUNK_BASE64, { message: `A file sent in one call is at most ${FILE_CHUNK_BYTES / 1024} KiB; send larger ones in chunks (rooms.files.begin)` }),
        mime: z.string().max(100).optional(),
      })
      .strict(),
    fileInfoSchema,
  ),
  'rooms.files.begin': method(
    'Start a chunked upload of a file of `size` bytes (checked against the room\'s limits now); send its chunks in order with rooms.files.chunk, then rooms.files.finish.',
    z.object({ roomId: roomIdSchema, name: fileNameSchema, size: z.number().int().min(0).max(MAX_FILE_BYTES), mime: z.string().max(100).optional() }).strict(),
    z.object({ uploadId: z.string(), chunkBytes: z.number().int() }),
  ),
  'rooms.files.chunk': method(
    `The next chunk of an upload (base64, at most ${FILE_CHUNK_BYTES / 1024} KiB, index counting from 0); answers the bytes received so far.`,
    z
      .object({
        uploadId: z.string().regex(/^u_[0-9a-f]{16}$/),
        index: z.number().int().min(0),
        dataBase64: z.string().max(MAX_CHUNK_BASE64, { message: `A chunk is at most ${FILE_CHUNK_BYTES / 1024} KiB` }),
      })
      .strict(),
    z.object({ received: z.number().int(), size: z.number().int() }),
  ),
  'rooms.files.finish': method(
    'Complete an upload once every byte arrived: the file is stored and listed in the room.',
    z.object({ uploadId: z.string().regex(/^u_[0-9a-f]{16}$/) }).strict(),
    fileInfoSchema,
  ),
  'rooms.files.cancel': method('Abandon an upload (its chunks are deleted).', z.object({ uploadId: z.string().regex(/^u_[0-9a-f]{16}$/) }).strict(), z.object({ cancelled: z.boolean() })),
  'rooms.files.list': method('Files in a room.', roomRef, z.object({ files: z.array(fileInfoSchema), usedBytes: z.number().int(), quotaBytes: z.number().int() })),
  'rooms.files.download': method(
    'One file, as base64.',
    z.object({ fileId: fileIdSchema }).strict(),
    z.object({ file: fileInfoSchema, dataBase64: z.string() }),
  ),
  'rooms.search': method(
    'Full-text search over messages and decisions.',
    z.object({ query: z.string().trim().min(1).max(200), roomId: roomIdSchema.optional(), limit: z.number().int().min(1).max(200).default(50) }).strict(),
    z.object({ hits: z.array(searchHitSchema) }),
  ),
} as const;

export const roomsEvents = {
  'rooms.message': event('A message was posted (after it was committed).', messageSchema),
  'rooms.vote': event('A vote was cast or a proposal opened or closed; carries the live tally.', proposalSchema),
  'rooms.decision': event('A proposal passed and became a decision (with a warning if it contradicts an earlier one).', decisionSchema),
  'rooms.presence': event("A member's presence changed.", presenceSchema),
  'rooms.task': event('A task was created or updated.', taskSchema),
} as const;
