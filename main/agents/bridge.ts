// The agent bridge: its own server on 127.0.0.1 (WebSocket at /ws, JSON HTTP at /api/<op>), apart
// from browser mode's server. Every request carries an agent token; every refusal is audited.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import {
  channelNameSchema,
  fileIdSchema,
  isMethodName,
  memberIdSchema,
  MAX_MESSAGE_CHARS,
  messageTextSchema,
  proposeInputSchema,
  quorumRules,
  roomIdSchema,
  speechActs,
  voteChoices,
  type AgentScope,
  type Author,
  type ConnectedAgent,
  type ErrorCode,
  type Proposal,
} from '../../preload/contract';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Dispatcher } from '../kernel/dispatcher';
import { AppError } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import { describeZodError } from '../kernel/validation';
import type { ProposeDeployInput } from '../fleet';
import type { RoomsService } from '../rooms';
import { createRateLimiter, createReplayGuard, REPLAY_WINDOW_MS, refusalText, signingInput, verifyEd25519, type NonceStore, type TokenRecord, type TokenStore } from './tokens';

export const AGENT_WS_PROTOCOL = 'omnisight.agent.v1';
export const MAX_FRAME_BYTES = 256 * 1024;
const PONG = Buffer.from('{"type":"pong"}');
export const BRIDGE_FILE = 'bridge.json';
const MAX_WAIT_MS = 120_000;

export interface BridgeDeps {
  tokens: TokenStore;
  /** Nonces of signed messages on disk: a replay after a restart is refused too. */
  nonces?: NonceStore;
  rooms: RoomsService;
  bus: EventBus;
  audit: AuditLog;
  log: Logger;
  now: () => number;
  /** Where bridge.json goes so the MCP server and the CLI find the port. */
  dataDir?: string;
  /** For fleet_status / recent_events, when those contract methods exist. */
  dispatcher?: Dispatcher;
  /** After this long without a frame a connected agent shows as idle. */
  idleMs?: number;
  /** Creates a checked deploy proposal (main/fleet/approval); absent when the app has no deploy. */
  proposeDeploy?: (input: ProposeDeployInput) => Proposal;
}

export interface BridgeServer {
  readonly port: number;
  connected(): ConnectedAgent[];
  /** Messages committed and the group commits that carried them (posts / commits = batch size). */
  stats(): { posts: number; commits: number };
  /** Closes every connection that uses this token (after a revocation). */
  disconnectToken(tokenId: string, reason: string): void;
  close(): Promise<void>;
}

interface Caller {
  token: TokenRecord;
  author: Author;
  peer: string;
}

type OpSpec = {
  scope: AgentScope | null;
  input: z.ZodType;
  /**
   * The common, plainly valid input checked by hand (what the zod schema would return), or
   * undefined to let the schema decide and word the refusal. Must accept nothing the schema refuses.
   */
  fast?: (input: unknown) => unknown;
  run: (c: Caller, input: never, conn?: Conn) => unknown;
};

interface Conn {
  ws: WebSocket;
  caller: Caller;
  connectedAt: number;
  lastSeenAt: number;
  rooms: Set<string>;
  /** Highest message id sent to this socket per room: an acknowledgement cannot claim more. */
  sentUpTo: Map<string, number>;
  /**
   * Per room, the last id the subscription's backlog covered: a message committed before the
   * subscription but announced after it (the writer thread answers later) is not sent twice.
   */
  floor: Map<string, number>;
  /** Frames waiting for this turn's write (see drain); reused, never reallocated. */
  out: Buffer[];
}

const statusOf: Partial<Record<ErrorCode, number>> = {
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unavailable: 503,
  unknown_method: 404,
};

export const postSchema = z
  .object({
    roomId: roomIdSchema,
    text: messageTextSchema,
    act: z.enum(speechActs).default('inform'),
    replyTo: z.number().int().positive().optional(),
    mentions: z.array(z.string().max(80)).max(50).optional(),
    channel: channelNameSchema.optional(),
    attachments: z.array(fileIdSchema).max(20).optional(),
    /** Ed25519 signature (base64) over signingInput(); needs a public key registered with the token. */
    sig: z.string().max(200).optional(),
    /** With sig: fresh per message (8–64 characters of A–Z a–z 0–9 _ -); a nonce is accepted once. */
    nonce: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'nonce must be 8–64 characters of A–Z, a–z, 0–9, _ or -' }).optional(),
    /** With sig: when it was signed, ms since the epoch; accepted for a couple of minutes. */
    ts: z.number().int().nonnegative().optional(),
  })
  .strict();

/** A rate-limit refusal that knows when a retry can succeed (HTTP answers it with Retry-After). */
class RateLimited extends AppError {
  constructor(
    readonly retryAfterMs: number,
    message: string,
  ) {
    super('rate_limited', message);
  }
}

const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ACTS: ReadonlySet<unknown> = new Set(speechActs);
const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** rooms.post as agents nearly always send it ({roomId, text, act?}); anything else goes to postSchema. */
export function fastPost(v: unknown): z.infer<typeof postSchema> | undefined {
  if (!isPlainObject(v)) return undefined;
  for (const k in v) if (hasOwn(v, k) && k !== 'roomId' && k !== 'text' && k !== 'act') return undefined;
  const { roomId, text, act } = v;
  if (typeof roomId !== 'string' || !ROOM_ID_RE.test(roomId)) return undefined;
  if (typeof text !== 'string' || text.length < 1 || text.length > MAX_MESSAGE_CHARS) return undefined;
  if (act !== undefined && !ACTS.has(act)) return undefined;
  return { roomId, text, act: (act ?? 'inform') as (typeof speechActs)[number] };
}

type Frame = { type: 'call'; id: number; op: string; input?: unknown } | { type: 'ack'; roomId: string; upTo: number } | { type: 'ping' };

/**
 * The three frames an agent sends, checked by hand: the strict shapes the bridge has always
 * accepted (no unknown fields), without a schema pass per frame. Returns the refusal as text.
 */
export function parseFrame(v: unknown): Frame | string {
  if (!isPlainObject(v)) return 'a frame is a JSON object';
  const extra = (allowed: readonly string[]): string | undefined => {
    for (const k in v) if (hasOwn(v, k) && !allowed.includes(k)) return `unknown field "${k.slice(0, 40)}"; remove it`;
    return undefined;
  };
  switch (v.type) {
    case 'call': {
      const bad = extra(['type', 'id', 'op', 'input']);
      if (bad) return bad;
      if (typeof v.id !== 'number' || !Number.isSafeInteger(v.id) || v.id < 0) return 'id: a non-negative integer';
      if (typeof v.op !== 'string' || v.op.length > 100) return 'op: the operation name (at most 100 characters)';
      return { type: 'call', id: v.id, op: v.op, input: v.input };
    }
    case 'ack': {
      const bad = extra(['type', 'roomId', 'upTo']);
      if (bad) return bad;
      if (typeof v.roomId !== 'string' || !ROOM_ID_RE.test(v.roomId)) return 'roomId: Room ids are letters, digits, "_" and "-"';
      if (typeof v.upTo !== 'number' || !Number.isSafeInteger(v.upTo) || v.upTo < 1) return 'upTo: a positive integer';
      return { type: 'ack', roomId: v.roomId, upTo: v.upTo };
    }
    case 'ping':
      return extra(['type']) ?? { type: 'ping' };
    default:
      return 'type: "call", "ack" or "ping"';
  }
}

const BATCH_OPEN = Buffer.from('{"type":"batch","frames":[');
const BATCH_CLOSE = Buffer.from(']}');
const COMMA = 0x2c;
const TEXT = { binary: false } as const;

/**
 * A message's JSON, made once per message and shared by its fan-out frame and the poster's result
 * frame (the rooms service hands both paths the same object).
 */
const messageJson = new WeakMap<object, string>();
const jsonOfMessage = (m: object): string => {
  let j = messageJson.get(m);
  if (j === undefined) messageJson.set(m, (j = JSON.stringify(m)));
  return j;
};

export async function startBridgeServer(deps: BridgeDeps, port = 0): Promise<BridgeServer> {
  const { tokens, rooms, bus, audit, log, now } = deps;
  const idleMs = deps.idleMs ?? 60_000;
  const limiter = createRateLimiter(now);
  const replay = createReplayGuard(now, REPLAY_WINDOW_MS, deps.nonces);
  const conns = new Set<Conn>();
  const byRoom = new Map<string, Set<Conn>>();
  let boundPort = 0;

  // Outgoing frames are queued per socket and written once per turn of the event loop, several as
  // one {"type":"batch"} frame: one write per socket per turn instead of one per message under load.
  // Frames are UTF-8 bytes made once: a message's frame is the same Buffer for every recipient, and
  // a batch is one copy of those bytes into a buffer of the exact size.
  let dirty: Conn[] = [];
  let spare: Conn[] = [];
  const drain = (): void => {
    const list = dirty;
    dirty = spare;
    for (const c of list) {
      const q = c.out;
      if (q.length && c.ws.readyState === c.ws.OPEN) {
        if (q.length === 1) c.ws.send(q[0]!, TEXT);
        else {
          let size = BATCH_OPEN.length + BATCH_CLOSE.length + q.length - 1;
          for (const f of q) size += f.length;
          const buf = Buffer.allocUnsafe(size);
          let at = BATCH_OPEN.copy(buf, 0);
          for (let i = 0; i < q.length; i++) {
            if (i) buf[at++] = COMMA;
            at += q[i]!.copy(buf, at);
          }
          BATCH_CLOSE.copy(buf, at);
          c.ws.send(buf, TEXT);
        }
      }
      q.length = 0;
    }
    list.length = 0;
    spare = list;
  };
  const sendTo = (c: Conn, frame: Buffer): void => {
    if (!c.out.length) {
      if (!dirty.length) setImmediate(drain);
      dirty.push(c);
    }
    c.out.push(frame);
  };
  const sendText = (c: Conn, frame: string): void => sendTo(c, Buffer.from(frame));

  const joined = new Set<string>();
  const join = (roomId: string, c: Caller): void => {
    const key = `${roomId}\u0000${c.author.id}`;
    if (joined.has(key)) return;
    rooms.ensureMember(roomId, c.author, c.token.roles);
    if (joined.size > 100_000) joined.clear();
    joined.add(key);
  };

  const refuse = (source: string, reason: string, message: string, detail: Record<string, string | number> = {}): void => {
    log.warn({ source, reason, ...detail }, 'agent request refused');
    audit.record({ kind: 'agents.refused', severity: 'warning', source, message, detail: { reason, ...detail } });
  };

  const authenticate = (given: string | undefined, peerAddr: string, where: string): Caller | AppError => {
    const check = tokens.check(given);
    if (!check.ok) {
      refuse(check.tokenId ? `agent:${check.tokenId}` : `bridge:${peerAddr}`, `${check.reason} token`, `Refused an agent ${where}: ${check.reason} token`, {
        where,
      });
      return new AppError('unauthorized', refusalText[check.reason]);
    }
    tokens.touch(check.token.id);
    return {
      token: check.token,
      author: { kind: 'agent', id: `agent:${check.token.id}`, name: check.token.name },
      peer: peerAddr,
    };
  };

  // Acknowledgements ride on the next group commit of the rooms writer: no commit of their own.
  const markDelivered = (memberId: string, roomId: string, upTo: number): void => rooms.recordDeliveryLater(memberId, [{ roomId, upTo }]);

  const requireFleetMethod = async (c: Caller, method: string, input: unknown): Promise<unknown> => {
    if (!deps.dispatcher || !isMethodName(method))
      return { available: false, message: 'The fleet is not available in this build of OmniSight yet (no swarm capability).' };
    const r = await deps.dispatcher.dispatch(method, input, { transport: 'agent', peer: c.author.name });
    if (!r.ok) throw new AppError(r.error.code, r.error.message);
    return { available: true, value: r.value };
  };

  const summaryOfRoom = (r: ReturnType<RoomsService['listRooms']>[number]) => ({
    id: r.id,
    name: r.name,
    unread: r.unread,
    members: r.members,
    lastMessageAt: r.lastMessageAt,
  });

  const ops: Record<string, OpSpec> = {
    'rooms.list': {
      scope: 'rooms:read',
      input: z.object({}).strict(),
      run: (c) => ({ rooms: rooms.listRooms(c.author.id).map(summaryOfRoom) }),
    },
    'rooms.read': {
      scope: 'rooms:read',
      input: z
        .object({
          roomId: roomIdSchema,
          after: z.number().int().nonnegative().optional(),
          thread: z.number().int().positive().optional(),
          limit: z.number().int().min(1).max(500).default(50),
        })
        .strict(),
      run: (_c, i: { roomId: string; after?: number; thread?: number; limit: number }) => rooms.listMessages(i),
    },
    'rooms.post': {
      scope: 'rooms:write',
      input: postSchema,
      fast: fastPost,
      run: (c, i: z.infer<typeof postSchema>) => {
        let signed = false;
        let verified = false;
        if (i.sig === undefined && c.token.publicKey) {
          refuse(`agent:${c.token.id}`, 'unsigned', 'Refused an unsigned message from a token with a registered signing key', { room: i.roomId });
          throw new AppError(
            'unauthorized',
            'This token has a registered signing key, so every message it posts must be signed ("sig", "nonce", "ts"). Sign it, or ask the user for a token without a key.',
          );
        }
        if (i.sig !== undefined) {
          if (!c.token.publicKey) throw new AppError('invalid_input', 'This message is signed but no public key is registered with the token. Register one (agent.registerKey) or leave "sig" out.');
          if (i.nonce === undefined || i.ts === undefined)
            throw new AppError('invalid_input', 'A signed message needs "nonce" (fresh for each message) and "ts" (now, in ms since the epoch), both covered by the signature.');
          signed = true;
          const input = signingInput({ tokenId: c.token.id, roomId: i.roomId, act: i.act, replyTo: i.replyTo, ts: i.ts, nonce: i.nonce, text: i.text });
          verified = verifyEd25519(c.token.publicKey, input, i.sig);
          if (!verified) {
            refuse(`agent:${c.token.id}`, 'bad signature', 'Refused an agent message: its Ed25519 signature does not match the registered key', { room: i.roomId });
            throw new AppError('unauthorized', 'The signature does not match the key registered with this token. Sign the exact text with that key, or leave "sig" out.');
          }
          // Only after the signature holds: a forged nonce must not burn a genuine one.
          const fresh = replay.check(`${c.token.id}:${c.token.publicKey}`, i.nonce, i.ts);
          if (!fresh.ok) {
            refuse(`agent:${c.token.id}`, `signature ${fresh.reason}`, `Refused a signed agent message: ${fresh.reason === 'replayed' ? 'its nonce was used before (a replay)' : `its timestamp is ${fresh.reason}`}`, {
              room: i.roomId,
            });
            throw new AppError(
              'unauthorized',
              fresh.reason === 'replayed'
                ? 'This signed message was already received (same nonce). Sign each message with a new nonce.'
                : fresh.reason === 'full'
                  ? 'Too many signed messages from this key within two minutes. Slow down and retry.'
                  : `The signature's "ts" is ${fresh.reason === 'stale' ? 'too old' : 'in the future'}: sign with the current time (accepted for ${REPLAY_WINDOW_MS / 1000} s, and not from before OmniSight started).`,
            );
          }
        }
        join(i.roomId, c);
        // Resolves after the writer's commit: the acknowledgement (the result frame) means "on disk".
        return rooms.postQueued({
          roomId: i.roomId,
          text: i.text,
          act: i.act,
          replyTo: i.replyTo,
          mentions: i.mentions,
          channel: i.channel,
          attachments: i.attachments,
          author: c.author,
          signed,
          verified,
        });
      },
    },
    'rooms.wait': {
      scope: 'rooms:read',
      input: z
        .object({
          roomId: roomIdSchema,
          after: z.number().int().nonnegative(),
          timeoutMs: z.number().int().min(0).max(MAX_WAIT_MS).default(30_000),
          includeOwn: z.boolean().default(false),
        })
        .strict(),
      run: async (c, i: { roomId: string; after: number; timeoutMs: number; includeOwn: boolean }) => ({
        messages: await rooms.waitForMessages({ roomId: i.roomId, after: i.after, timeoutMs: i.timeoutMs, excludeAuthor: i.includeOwn ? undefined : c.author.id }),
      }),
    },
    'rooms.subscribe': {
      scope: 'rooms:read',
      input: z.object({ roomId: roomIdSchema, after: z.number().int().nonnegative().optional() }).strict(),
      run: (c, i: { roomId: string; after?: number }, conn?: Conn) => {
        if (!conn) throw new AppError('invalid_input', 'rooms.subscribe needs the WebSocket; over HTTP use rooms.wait.');
        rooms.getRoom(i.roomId);
        // Backlog and subscription in the same turn: nothing committed in between can be missed.
        let cursor = i.after ?? Number.MAX_SAFE_INTEGER;
        let sent = 0;
        if (i.after !== undefined) {
          // Resuming after X says "I have everything up to X": that is an acknowledgement too.
          const upTo = Math.min(i.after, rooms.listMessages({ roomId: i.roomId, limit: 1 }).messages[0]?.id ?? 0);
          if (upTo > 0) {
            conn.sentUpTo.set(i.roomId, Math.max(conn.sentUpTo.get(i.roomId) ?? 0, upTo));
            markDelivered(c.author.id, i.roomId, upTo);
          }
          for (;;) {
            const page = rooms.listMessages({ roomId: i.roomId, after: cursor, limit: 500 });
            for (const m of page.messages) {
              if (m.author.id !== c.author.id) {
                sendText(conn, `{"type":"message","message":${jsonOfMessage(m)}}`);
                conn.sentUpTo.set(m.roomId, m.id);
                sent++;
              }
              cursor = m.id;
            }
            if (!page.hasMore) break;
          }
        }
        if (i.after === undefined) cursor = rooms.listMessages({ roomId: i.roomId, limit: 1 }).messages[0]?.id ?? 0;
        conn.rooms.add(i.roomId);
        conn.floor.set(i.roomId, cursor);
        let set = byRoom.get(i.roomId);
        if (!set) byRoom.set(i.roomId, (set = new Set()));
        set.add(conn);
        announceConnected();
        return { roomId: i.roomId, backlog: sent, lastId: cursor };
      },
    },
    'rooms.members': {
      scope: 'rooms:read',
      input: z.object({ roomId: roomIdSchema }).strict(),
      run: (_c, i: { roomId: string }) => ({ members: rooms.listMembers(i.roomId) }),
    },
    'rooms.propose': {
      scope: 'actions:propose',
      input: proposeInputSchema,
      run: (c, i: z.infer<typeof proposeInputSchema>) => {
        join(i.roomId, c);
        return rooms.propose({ ...i, by: c.author });
      },
    },
    'rooms.vote': {
      scope: 'rooms:write',
      // No weight field: weights come from the room's owner, and .strict() refuses one.
      input: z.object({ proposalId: z.number().int().positive(), choice: z.enum(voteChoices), veto: z.boolean().optional() }).strict(),
      run: (c, i: { proposalId: number; choice: (typeof voteChoices)[number]; veto?: boolean }) => {
        const p = rooms.getProposal(i.proposalId);
        join(p.roomId, c);
        return rooms.vote({ ...i, voter: c.author.id });
      },
    },
    'rooms.proposals': {
      scope: 'rooms:read',
      input: z.object({ roomId: roomIdSchema, open: z.boolean().default(false) }).strict(),
      run: (_c, i: { roomId: string; open: boolean }) => ({ proposals: rooms.listProposals(i.roomId, i.open ? 'open' : undefined) }),
    },
    'rooms.decisions': {
      scope: 'rooms:read',
      input: z.object({ roomId: roomIdSchema }).strict(),
      run: (_c, i: { roomId: string }) => ({ decisions: rooms.listDecisions(i.roomId) }),
    },
    'tasks.list': {
      scope: 'rooms:read',
      input: z.object({ roomId: roomIdSchema }).strict(),
      run: (_c, i: { roomId: string }) => ({ tasks: rooms.listTasks(i.roomId) }),
    },
    'tasks.create': {
      scope: 'rooms:write',
      input: z.object({ roomId: roomIdSchema, title: z.string().trim().min(1).max(300), assignee: memberIdSchema.optional() }).strict(),
      run: (c, i: { roomId: string; title: string; assignee?: string }) => rooms.createTask({ ...i, by: c.author.id }),
    },
    'tasks.update': {
      scope: 'rooms:write',
      input: z
        .object({
          roomId: roomIdSchema,
          taskId: z.number().int().positive(),
          assignee: memberIdSchema.nullable().optional(),
          progress: z.number().int().min(0).max(100).optional(),
          done: z.boolean().optional(),
        })
        .strict(),
      run: (c, i: { roomId: string; taskId: number; assignee?: string | null; progress?: number; done?: boolean }) => rooms.updateTask({ ...i, by: c.author.id }),
    },
    'deploy.propose': {
      scope: 'actions:propose',
      input: z
        .object({
          roomId: roomIdSchema,
          /** sha256 or file name of a build the app knows (Deploy view → builds). */
          build: z.string().trim().min(1).max(200),
          cameraIds: z.array(z.string().min(1).max(64)).min(1).max(256),
          reason: z.string().trim().min(1).max(2000),
          rule: z.enum(quorumRules).optional(),
          deadlineMs: z.number().int().min(1000).max(7 * 86_400_000).optional(),
        })
        .strict(),
      // Only a proposal: the deploy starts when the room's decision on it passes, never from here.
      run: (c, i: { roomId: string; build: string; cameraIds: string[]; reason: string; rule?: (typeof quorumRules)[number]; deadlineMs?: number }) => {
        if (!deps.proposeDeploy) throw new AppError('unavailable', 'Deploys are not available in this build of OmniSight; propose in words with the propose tool instead.');
        join(i.roomId, c);
        return deps.proposeDeploy({ ...i, by: c.author });
      },
    },
    'fleet.status': { scope: 'fleet:read', input: z.object({}).strict(), run: (c) => requireFleetMethod(c, 'fleet.list', {}) },
    'fleet.events': {
      scope: 'fleet:read',
      input: z.object({ limit: z.number().int().min(1).max(500).default(50) }).strict(),
      run: (c, i: { limit: number }) => requireFleetMethod(c, 'swarm.events', { limit: i.limit }),
    },
    'agent.whoami': {
      scope: null,
      input: z.object({}).strict(),
      run: (c) => ({ tokenId: c.token.id, memberId: c.author.id, name: c.token.name, scopes: c.token.scopes, roles: c.token.roles, hasPublicKey: !!c.token.publicKey }),
    },
    'agent.registerKey': {
      // A key makes messages "verified": only a token that may write gets one.
      scope: 'rooms:write',
      input: z.object({ publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, { message: 'Send the raw 32-byte Ed25519 public key in standard base64' }) }).strict(),
      run: (c, i: { publicKey: string }) => {
        // First registration only; replacing a key is the user's decision (new token in the Agents view).
        if (c.token.publicKey && c.token.publicKey !== i.publicKey)
          throw new AppError('conflict', 'A different public key is already registered with this token. Ask the user for a new token to use another key.');
        tokens.setPublicKey(c.token.id, i.publicKey);
        c.token.publicKey = i.publicKey;
        return { registered: true };
      },
    },
  };

  /** Validation, scope and rate limit for one call; throws AppError for refusals. */
  const runOp = async (c: Caller, op: string, input: unknown, conn?: Conn): Promise<unknown> => {
    const src = `agent:${c.token.id}`;
    const spec = Object.prototype.hasOwnProperty.call(ops, op) ? ops[op] : undefined;
    if (!spec) {
      refuse(src, 'unknown op', `Refused an agent call to an unknown operation`, { op: op.slice(0, 80) });
      throw new AppError('unknown_method', `Unknown operation "${op.slice(0, 80)}". Operations: ${Object.keys(ops).join(', ')}.`);
    }
    if (c.token.expiresAt !== null && c.token.expiresAt <= now()) {
      refuse(src, 'expired token', 'Refused an agent call: the token expired while connected', { op });
      throw new AppError('unauthorized', refusalText.expired);
    }
    const rl = limiter.take(c.token.id, c.token.ratePerMinute, c.token.burst);
    if (!rl.ok) {
      refuse(src, 'rate limited', `Refused an agent call: over ${c.token.ratePerMinute} calls a minute`, { op, retryAfterMs: rl.retryAfterMs });
      throw new RateLimited(rl.retryAfterMs, `Too many calls: this token may make ${c.token.ratePerMinute} a minute (burst ${c.token.burst}). Retry in ${Math.ceil(rl.retryAfterMs / 1000)} s.`);
    }
    if (spec.scope && !c.token.scopes.includes(spec.scope)) {
      refuse(src, 'scope', `Refused an agent call: ${op} needs the ${spec.scope} scope`, { op, scope: spec.scope });
      throw new AppError('forbidden', `${op} needs the "${spec.scope}" scope, which this token does not have. Ask the user for a token with it.`);
    }
    const quick = spec.fast?.(input);
    if (quick !== undefined) return spec.run(c, quick as never, conn);
    const parsed = spec.input.safeParse(input ?? {});
    if (!parsed.success) {
      const { message, issues } = describeZodError(parsed.error);
      refuse(src, 'invalid input', `Refused an agent call to ${op}: ${message}`, { op });
      throw new AppError('invalid_input', `${op}: ${message}`, issues);
    }
    return spec.run(c, parsed.data as never, conn);
  };

  const asError = (err: unknown): { code: ErrorCode; message: string; issues?: { path: string; message: string }[] } => {
    if (err instanceof AppError) return err.toContract();
    log.error({ err }, 'agent operation failed');
    return { code: 'internal', message: 'The operation failed unexpectedly; the details are in the OmniSight log.' };
  };

  // --- presence -------------------------------------------------------------------------------

  const connectedList = (): ConnectedAgent[] =>
    [...conns].map((c) => ({
      tokenId: c.caller.token.id,
      name: c.caller.token.name,
      peer: c.caller.peer,
      connectedAt: c.connectedAt,
      lastSeenAt: c.lastSeenAt,
      presence: rooms.presenceOf(c.caller.author.id),
      rooms: [...c.rooms],
      verifiedKey: !!c.caller.token.publicKey,
    }));
  let announceTimer: NodeJS.Timeout | undefined;
  // Coalesced: 5,000 agents connecting at once must not send 5,000 lists of up to 5,000 entries.
  const announceConnected = (): void => {
    if (announceTimer) return;
    announceTimer = setTimeout(() => {
      announceTimer = undefined;
      bus.publish('agents.connected', { agents: connectedList().slice(0, 1000) });
    }, 50);
    announceTimer.unref();
  };
  const refreshPresence = (memberId: string, name: string): void => {
    let latest = -1;
    for (const c of conns) if (c.caller.author.id === memberId) latest = Math.max(latest, c.lastSeenAt);
    rooms.setPresence(memberId, name, latest < 0 ? 'offline' : now() - latest >= idleMs ? 'idle' : 'online');
  };
  const idleTimer = setInterval(() => {
    replay.sweep();
    const seen = new Map<string, string>();
    for (const c of conns) seen.set(c.caller.author.id, c.caller.author.name);
    for (const [id, name] of seen) refreshPresence(id, name);
  }, Math.max(250, Math.floor(idleMs / 4)));
  idleTimer.unref();

  const unsubscribe = bus.subscribe('rooms.message', (m) => {
    const set = byRoom.get(m.roomId);
    if (!set?.size) return;
    let frame: Buffer | undefined;
    const author = m.author.id;
    for (const c of set)
      if (c.caller.author.id !== author && c.ws.readyState === c.ws.OPEN && m.id > (c.floor.get(m.roomId) ?? 0)) {
        sendTo(c, (frame ??= Buffer.from(`{"type":"message","message":${jsonOfMessage(m)}}`)));
        c.sentUpTo.set(m.roomId, m.id);
      }
  });

  // --- HTTP -----------------------------------------------------------------------------------

  const hostOk = (host: string | undefined): boolean => host === `127.0.0.1:${boundPort}` || host === `localhost:${boundPort}`;
  const bearer = (h: string | undefined): string | undefined => (h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined);
  const sendJson = (res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const peerAddr = req.socket.remoteAddress ?? '?';
    if (!hostOk(req.headers.host)) {
      refuse(`bridge:${peerAddr}`, 'host', 'Refused an agent request with an unexpected Host header', { host: String(req.headers.host ?? '') });
      return sendJson(res, 421, { ok: false, error: { code: 'forbidden', message: 'Misdirected request' } });
    }
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && pathname === '/api/health') return sendJson(res, 200, { ok: true, value: { bridge: 'omnisight', port: boundPort } });
    const m = /^\/api\/([a-z]+\.[A-Za-z]+)$/.exec(pathname);
    if (!m || req.method !== 'POST') return sendJson(res, 404, { ok: false, error: { code: 'unknown_method', message: 'Use POST /api/<operation> with a JSON body.' } });
    const auth = authenticate(bearer(req.headers.authorization), peerAddr, `HTTP ${m[1]}`);
    if (auth instanceof AppError) return sendJson(res, 401, { ok: false, error: auth.toContract() }, { 'WWW-Authenticate': 'Bearer' });
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_FRAME_BYTES) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) {
        refuse(`agent:${auth.token.id}`, 'too large', 'Refused an agent request over the size limit', { bytes: size });
        return sendJson(res, 413, { ok: false, error: { code: 'too_large', message: `Requests are at most ${MAX_FRAME_BYTES} bytes.` } });
      }
      let input: unknown;
      try {
        input = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        refuse(`agent:${auth.token.id}`, 'invalid input', 'Refused an agent request whose body is not JSON', { op: m[1]! });
        return sendJson(res, 400, { ok: false, error: { code: 'invalid_input', message: 'The body must be JSON.' } });
      }
      runOp(auth, m[1]!, input).then(
        (value) => sendJson(res, 200, { ok: true, value }),
        (err: unknown) => {
          const e = asError(err);
          // RFC 9110 §10.2.3: whole seconds until a retry can succeed.
          const extra: Record<string, string> = err instanceof RateLimited ? { 'Retry-After': String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))) } : {};
          sendJson(res, statusOf[e.code] ?? 500, { ok: false, error: e }, extra);
        },
      );
    });
  });

  // --- WebSocket ------------------------------------------------------------------------------

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(AGENT_WS_PROTOCOL) ? AGENT_WS_PROTOCOL : false),
  });

  server.on('upgrade', (req, socket, head) => {
    const peerAddr = req.socket.remoteAddress ?? '?';
    const reject = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if ((req.url ?? '').split('?')[0] !== '/ws') {
      refuse(`bridge:${peerAddr}`, 'path', 'Refused an agent socket on an unknown path', { path: String(req.url).slice(0, 100) });
      return reject(404, 'Not Found');
    }
    if (!hostOk(req.headers.host)) {
      refuse(`bridge:${peerAddr}`, 'host', 'Refused an agent socket with an unexpected Host header', { host: String(req.headers.host ?? '') });
      return reject(421, 'Misdirected Request');
    }
    // Agents are programs, not web pages: a browser always sends Origin, so refuse any.
    if (req.headers.origin !== undefined) {
      refuse(`bridge:${peerAddr}`, 'origin', 'Refused an agent socket opened by a web page', { origin: String(req.headers.origin) });
      return reject(403, 'Forbidden');
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const given = bearer(req.headers.authorization) ?? offered.find((p) => p.startsWith('token.'))?.slice(6);
    const auth = authenticate(given, peerAddr, 'socket');
    if (auth instanceof AppError) return reject(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, auth));
  });

  const onConnection = (ws: WebSocket, caller: Caller): void => {
    const t = now();
    const conn: Conn = { ws, caller, connectedAt: t, lastSeenAt: t, rooms: new Set(), sentUpTo: new Map(), floor: new Map(), out: [] };
    conns.add(conn);
    refreshPresence(caller.author.id, caller.author.name);
    announceConnected();
    ws.send(
      JSON.stringify({
        type: 'welcome',
        tokenId: caller.token.id,
        memberId: caller.author.id,
        name: caller.token.name,
        scopes: caller.token.scopes,
      }),
    );
    ws.on('message', (data, isBinary) => {
      const t = now();
      const wasIdle = t - conn.lastSeenAt >= idleMs;
      conn.lastSeenAt = t;
      if (wasIdle) refreshPresence(caller.author.id, caller.author.name);
      let frame: Frame | string;
      let raw: unknown;
      try {
        // One JSON.parse straight from the bytes, then the hand check: the only validation of the frame.
        frame = isBinary ? 'binary frames are not used' : parseFrame((raw = JSON.parse(data.toString())));
      } catch {
        frame = 'not JSON';
      }
      if (typeof frame === 'string') {
        refuse(`agent:${caller.token.id}`, 'malformed frame', `Refused a malformed agent frame: ${frame}`);
        const message = `Malformed frame (${frame}): expected {"type":"call","id":n,"op":"…","input":{…}}, {"type":"ack","roomId":"…","upTo":n} or {"type":"ping"}`;
        // A call whose id can be read gets its answer as that call's result: the caller is not left waiting.
        const id = isPlainObject(raw) && Number.isSafeInteger(raw.id) && (raw.id as number) >= 0 ? (raw.id as number) : undefined;
        ws.send(JSON.stringify(id === undefined ? { type: 'error', message } : { type: 'result', id, ok: false, error: { code: 'invalid_input', message } }));
        return;
      }
      if (frame.type === 'ping') return sendTo(conn, PONG);
      if (frame.type === 'ack') {
        const sent = conn.sentUpTo.get(frame.roomId) ?? 0;
        if (frame.upTo > sent) {
          refuse(`agent:${caller.token.id}`, 'invalid ack', 'Refused an acknowledgement for messages this connection was not sent', { room: frame.roomId, upTo: frame.upTo });
          return;
        }
        markDelivered(caller.author.id, frame.roomId, frame.upTo);
        return;
      }
      const id = frame.id;
      runOp(caller, frame.op, frame.input, conn).then(
        // A posted message's JSON is already made for its fan-out: splice it in rather than serialise it again.
        (value) =>
          sendText(
            conn,
            value === undefined
              ? `{"type":"result","id":${id},"ok":true}`
              : `{"type":"result","id":${id},"ok":true,"value":${(typeof value === 'object' && value !== null && messageJson.get(value)) || JSON.stringify(value)}}`,
          ),
        (err: unknown) => sendText(conn, JSON.stringify({ type: 'result', id, ok: false, error: asError(err) })),
      );
    });
    ws.on('error', (err) => log.debug({ err }, 'agent socket error'));
    ws.on('close', () => {
      conns.delete(conn);
      conn.out.length = 0; // drain skips it (closed) and a late sendTo finds it empty
      for (const r of conn.rooms) byRoom.get(r)?.delete(conn);
      refreshPresence(caller.author.id, caller.author.name);
      announceConnected();
    });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  boundPort = (server.address() as AddressInfo).port;
  server.maxConnections = 20_000;

  const bridgeFile = deps.dataDir ? path.join(deps.dataDir, BRIDGE_FILE) : undefined;
  if (bridgeFile) {
    fs.mkdirSync(deps.dataDir!, { recursive: true });
    const tmp = `${bridgeFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ port: boundPort, pid: process.pid }), { mode: 0o600 });
    fs.renameSync(tmp, bridgeFile);
  }
  log.info({ port: boundPort }, 'agent bridge listening');

  return {
    port: boundPort,
    connected: connectedList,
    stats: () => {
      const { posts, commits } = rooms.writeStats();
      return { posts, commits };
    },
    disconnectToken(tokenId, reason) {
      for (const c of conns) if (c.caller.token.id === tokenId) c.ws.close(4001, reason.slice(0, 120));
    },
    async close() {
      clearInterval(idleTimer);
      if (announceTimer) clearTimeout(announceTimer);
      // Posts already accepted are committed and answered before the sockets go.
      await Promise.race([rooms.flushWrites(), new Promise((r) => setTimeout(r, 5000).unref())]);
      unsubscribe();
      drain();
      for (const c of conns) c.ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (bridgeFile) {
        try {
          const cur = JSON.parse(fs.readFileSync(bridgeFile, 'utf8')) as { pid?: number };
          if (cur.pid === process.pid) fs.rmSync(bridgeFile, { force: true });
        } catch {
          // already gone
        }
      }
    },
  };
}
