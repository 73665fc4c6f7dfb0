// The agent bridge's operations: what an agent (Claude Code, a script, the MCP server, the CLI) may
// call on ws://127.0.0.1:<port>/ws ({"type":"call"} frames) or POST /api/<op>, the scope each needs,
// what it answers, and the frames the bridge sends. The bridge validates every call against these
// schemas; docs/protocol.md describes the wire; the contract snapshot lists all of it.
import { z } from 'zod';
import { cameraIdSchema } from './camera-id';
import { agentScopes, ed25519PublicKeySchema, type AgentScope } from './agents';
import { contractErrorSchema, event, noInput, type EventSpec } from './define';
import {
  decisionSchema,
  memberIdSchema,
  memberSchema,
  messageSchema,
  proposalSchema,
  proposeInputSchema,
  quorumRules,
  roomIdSchema,
  roomsMethods,
  taskSchema,
  voteChoices,
} from './rooms';

export interface OperationSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly description: string;
  /** The scope the token needs; null: any valid token. */
  readonly scope: AgentScope | null;
  readonly input: I;
  readonly output: O;
  /** Only over the WebSocket (it sends frames later), not over HTTP. */
  readonly socketOnly?: boolean;
}

const op = <I extends z.ZodType, O extends z.ZodType>(description: string, scope: AgentScope | null, input: I, output: O, socketOnly?: boolean): OperationSpec<I, O> => ({
  description,
  scope,
  input,
  output,
  ...(socketOnly ? { socketOnly } : {}),
});

export const MAX_BRIDGE_WAIT_MS = 120_000;

/**
 * rooms.post as an agent sends it: the renderer's rooms.post plus mentions and an optional Ed25519
 * signature. A token with a registered key must sign every message.
 */
export const bridgePostInputSchema = roomsMethods['rooms.post'].input
  .extend({
    mentions: z.array(z.string().max(80)).max(50).optional(),
    /** Ed25519 signature (base64) over the signing input (see docs/protocol.md); needs a key registered with the token. */
    sig: z.string().max(200).optional(),
    /** With sig: fresh per message (8–64 characters of A–Z a–z 0–9 _ -); a nonce is accepted once, also across restarts. */
    nonce: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'nonce must be 8–64 characters of A–Z, a–z, 0–9, _ or -' }).optional(),
    /** With sig: when it was signed, ms since the epoch; accepted for two minutes. */
    ts: z.number().int().nonnegative().optional(),
  })
  .strict();
export type BridgePostInput = z.output<typeof bridgePostInputSchema>;

const roomSummarySchema = z.object({ id: z.string(), name: z.string(), unread: z.number().int(), members: z.number().int(), lastMessageAt: z.number().nullable() });
/** fleet.* answers: the value of a fixed read-only app method, or why the fleet is not available. */
const fleetAnswerSchema = z.object({ available: z.boolean(), message: z.string().optional(), value: z.unknown().optional() });
const taskFields = { title: z.string().trim().min(1).max(300), assignee: memberIdSchema.optional() };

export const bridgeOperations = {
  'rooms.list': op('Rooms with unread counts for this agent.', 'rooms:read', noInput, z.object({ rooms: z.array(roomSummarySchema) })),
  'rooms.read': op(
    'A page of messages, oldest first after `after` (or the latest page); `thread` limits to one thread.',
    'rooms:read',
    z
      .object({
        roomId: roomIdSchema,
        after: z.number().int().nonnegative().optional(),
        thread: z.number().int().positive().optional(),
        limit: z.number().int().min(1).max(500).default(50),
      })
      .strict(),
    z.object({ messages: z.array(messageSchema), hasMore: z.boolean() }),
  ),
  'rooms.post': op(
    'Post a message as this agent (joining the room without a vote if needed). Answered once it is committed.',
    'rooms:write',
    bridgePostInputSchema,
    messageSchema,
  ),
  'rooms.wait': op(
    "Block until a message after `after` arrives (others' only, unless includeOwn) or the timeout passes.",
    'rooms:read',
    z
      .object({
        roomId: roomIdSchema,
        after: z.number().int().nonnegative(),
        timeoutMs: z.number().int().min(0).max(MAX_BRIDGE_WAIT_MS).default(30_000),
        includeOwn: z.boolean().default(false),
      })
      .strict(),
    z.object({ messages: z.array(messageSchema) }),
  ),
  'rooms.subscribe': op(
    'Receive the room\'s new messages as "message" frames; with `after`, first the backlog after it (and an acknowledgement up to it).',
    'rooms:read',
    z.object({ roomId: roomIdSchema, after: z.number().int().nonnegative().optional() }).strict(),
    z.object({ roomId: z.string(), backlog: z.number().int(), lastId: z.number().int() }),
    true,
  ),
  'rooms.members': op('Members, their roles, votes and presence.', 'rooms:read', z.object({ roomId: roomIdSchema }).strict(), z.object({ members: z.array(memberSchema) })),
  'rooms.propose': op('Put a proposal to the vote.', 'actions:propose', proposeInputSchema, proposalSchema),
  'rooms.vote': op(
    'Vote as this agent. Agents join without a vote; the room\'s owner gives one. No weight field: weights come from the owner.',
    'rooms:write',
    z.object({ proposalId: z.number().int().positive(), choice: z.enum(voteChoices), veto: z.boolean().optional() }).strict(),
    proposalSchema,
  ),
  'rooms.proposals': op(
    'Proposals in a room, newest first (only the open ones with `open`).',
    'rooms:read',
    z.object({ roomId: roomIdSchema, open: z.boolean().default(false) }).strict(),
    z.object({ proposals: z.array(proposalSchema) }),
  ),
  'rooms.decisions': op('Decisions with their vote records, newest first.', 'rooms:read', z.object({ roomId: roomIdSchema }).strict(), z.object({ decisions: z.array(decisionSchema) })),
  'tasks.list': op('The room\'s shared task list.', 'rooms:read', z.object({ roomId: roomIdSchema }).strict(), z.object({ tasks: z.array(taskSchema) })),
  'tasks.create': op('Add a task.', 'rooms:write', z.object({ roomId: roomIdSchema, ...taskFields }).strict(), taskSchema),
  'tasks.update': op(
    'Assign a task, report progress (0–100) or mark it done.',
    'rooms:write',
    z
      .object({
        roomId: roomIdSchema,
        taskId: z.number().int().positive(),
        assignee: memberIdSchema.nullable().optional(),
        progress: z.number().int().min(0).max(100).optional(),
        done: z.boolean().optional(),
      })
      .strict(),
    taskSchema,
  ),
  'deploy.propose': op(
    "Propose a deploy (checked at once). Only a proposal: the deploy starts when the room's decision passes with a yes from the room's owner (or the approver role), never from here.",
    'actions:propose',
    z
      .object({
        roomId: roomIdSchema,
        /** sha256 or file name of a build the app knows (Deploy view → builds). */
        build: z.string().trim().min(1).max(200),
        cameraIds: z.array(cameraIdSchema).min(1).max(256),
        reason: z.string().trim().min(1).max(2000),
        rule: z.enum(quorumRules).optional(),
        deadlineMs: z.number().int().min(1000).max(7 * 86_400_000).optional(),
      })
      .strict(),
    proposalSchema,
  ),
  'fleet.status': op('The camera fleet (the app\'s fleet.list), when the app has one.', 'fleet:read', noInput, fleetAnswerSchema),
  'fleet.events': op(
    'Recent swarm events (the app\'s swarm.events), when the app has them.',
    'fleet:read',
    z.object({ limit: z.number().int().min(1).max(500).default(50) }).strict(),
    fleetAnswerSchema,
  ),
  'agent.whoami': op(
    'This token: its member id, scopes, roles and whether a signing key is registered.',
    null,
    noInput,
    z.object({ tokenId: z.string(), memberId: z.string(), name: z.string(), scopes: z.array(z.enum(agentScopes)), roles: z.array(z.string()), hasPublicKey: z.boolean() }),
  ),
  'agent.registerKey': op(
    'Register the Ed25519 public key this token signs with (once; a token that may write only). From then on every message must be signed.',
    'rooms:write',
    z.object({ publicKey: ed25519PublicKeySchema }).strict(),
    z.object({ registered: z.literal(true) }),
  ),
} as const;

export type BridgeOperation = keyof typeof bridgeOperations;
export const isBridgeOperation = (name: string): name is BridgeOperation => Object.prototype.hasOwnProperty.call(bridgeOperations, name);

/** Frames an agent sends on the socket. */
export const bridgeClientFrames = {
  call: event(
    'Call an operation; answered by a "result" frame with the same id.',
    z.object({ type: z.literal('call'), id: z.number().int().nonnegative(), op: z.string().max(100), input: z.unknown().optional() }).strict(),
  ),
  ack: event(
    'Acknowledge every message of a room up to an id this connection was sent (recorded as delivered).',
    z.object({ type: z.literal('ack'), roomId: roomIdSchema, upTo: z.number().int().positive() }).strict(),
  ),
  ping: event('Keep-alive; answered by "pong".', z.object({ type: z.literal('ping') }).strict()),
} as const;

const resultFrame = z.union([
  z.object({ type: z.literal('result'), id: z.number().int(), ok: z.literal(true), value: z.unknown().optional() }),
  z.object({ type: z.literal('result'), id: z.number().int(), ok: z.literal(false), error: contractErrorSchema }),
]);
const messageFrame = z.object({ type: z.literal('message'), message: messageSchema });

/** Frames the bridge sends on the socket. */
export const bridgeServerFrames: Record<string, EventSpec> = {
  welcome: event(
    'First frame after the handshake: who the token is.',
    z.object({ type: z.literal('welcome'), tokenId: z.string(), memberId: z.string(), name: z.string(), scopes: z.array(z.enum(agentScopes)) }),
  ),
  result: event('The answer to a call (a malformed call whose id can be read is answered here too).', resultFrame),
  message: event('A message of a subscribed room, posted by someone else (committed before it is sent).', messageFrame),
  batch: event('Several frames written in one turn.', z.object({ type: z.literal('batch'), frames: z.array(z.union([resultFrame, messageFrame, z.object({ type: z.literal('pong') })])) })),
  pong: event('The answer to a ping.', z.object({ type: z.literal('pong') })),
  error: event('A frame that could not be read (no call id to answer).', z.object({ type: z.literal('error'), message: z.string() })),
};
