// What each agent bridge operation does, once the server (bridge.ts) has authenticated the caller,
// checked the scope and the rate limit and validated the input against the contract
// (preload/contract/bridge.ts). Transport-free: over HTTP there is no session; on the socket the
// session carries what only a socket can do (subscriptions).
import type { z } from 'zod';
import { isMethodName, MAX_MESSAGE_CHARS, speechActs, type Author, type BridgeOperation, type BridgePostInput, type bridgeOperations, type Proposal } from '../../preload/contract';
import type { Dispatcher } from '../kernel/dispatcher';
import { AppError } from '../kernel/errors';
import type { ProposeDeployInput } from '../fleet';
import type { RoomsService } from '../rooms';
import { REPLAY_WINDOW_MS, signingInput, verifyEd25519, type ReplayGuard, type TokenRecord, type TokenStore } from './tokens';

/** An authenticated agent: its token and the member it is in rooms. */
export interface Caller {
  token: TokenRecord;
  author: Author;
  peer: string;
}

/** What only a socket can do for an operation. */
export interface Session {
  subscribe(roomId: string, after: number | undefined): { roomId: string; backlog: number; lastId: number };
}

export interface OperationsDeps {
  rooms: RoomsService;
  tokens: TokenStore;
  replay: ReplayGuard;
  dispatcher?: Dispatcher;
  proposeDeploy?: (input: ProposeDeployInput) => Proposal;
  /** Logs and audits a refusal. */
  refuse(source: string, reason: string, message: string, detail?: Record<string, string | number>): void;
}

type Spec<K extends BridgeOperation> = (typeof bridgeOperations)[K];
type Run<K extends BridgeOperation> = (c: Caller, input: z.output<Spec<K>['input']>, session?: Session) => z.input<Spec<K>['output']> | Promise<z.input<Spec<K>['output']>>;
export type Operations = { [K in BridgeOperation]: Run<K> };

const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ACTS: ReadonlySet<unknown> = new Set(speechActs);
const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * rooms.post as agents nearly always send it ({roomId, text, act?}), checked by hand: what the
 * contract's schema would return, without a schema pass. Anything else goes to the schema, which
 * words the refusal; this accepts nothing the schema refuses.
 */
export function fastPost(v: unknown): BridgePostInput | undefined {
  if (!isPlainObject(v)) return undefined;
  for (const k in v) if (hasOwn(v, k) && k !== 'roomId' && k !== 'text' && k !== 'act') return undefined;
  const { roomId, text, act } = v;
  if (typeof roomId !== 'string' || !ROOM_ID_RE.test(roomId)) return undefined;
  if (typeof text !== 'string' || text.length < 1 || text.length > MAX_MESSAGE_CHARS) return undefined;
  if (act !== undefined && !ACTS.has(act)) return undefined;
  return { roomId, text, act: (act ?? 'inform') as (typeof speechActs)[number] };
}

export function createOperations(deps: OperationsDeps): Operations {
  const { rooms, tokens, replay, refuse } = deps;

  // An agent joins a room the first time it acts there, with its token's roles and without a vote.
  const joined = new Set<string>();
  const join = (roomId: string, c: Caller): void => {
    const key = `${roomId}\u0000${c.author.id}`;
    if (joined.has(key)) return;
    rooms.ensureMember(roomId, c.author, c.token.roles);
    if (joined.size > 100_000) joined.clear();
    joined.add(key);
  };

  // fleet.* dispatch fixed read-only methods of the app, whatever the input.
  const fleetMethod = async (c: Caller, method: string, input: unknown): Promise<{ available: boolean; message?: string; value?: unknown }> => {
    if (!deps.dispatcher || !isMethodName(method))
      return { available: false, message: 'The fleet is not available in this build of OmniSight yet (no swarm capability).' };
    const r = await deps.dispatcher.dispatch(method, input, { transport: 'agent', peer: c.author.name });
    if (!r.ok) throw new AppError(r.error.code, r.error.message);
    return { available: true, value: r.value };
  };

  /** Checks a signed message (signature, then freshness); returns whether it is signed and verified. */
  const checkSignature = (c: Caller, i: BridgePostInput): { signed: boolean; verified: boolean } => {
    if (i.sig === undefined) {
      if (!c.token.publicKey) return { signed: false, verified: false };
      refuse(`agent:${c.token.id}`, 'unsigned', 'Refused an unsigned message from a token with a registered signing key', { room: i.roomId });
      throw new AppError(
        'unauthorized',
        'This token has a registered signing key, so every message it posts must be signed ("sig", "nonce", "ts"). Sign it, or ask the user for a token without a key.',
      );
    }
    if (!c.token.publicKey) throw new AppError('invalid_input', 'This message is signed but no public key is registered with the token. Register one (agent.registerKey) or leave "sig" out.');
    if (i.nonce === undefined || i.ts === undefined)
      throw new AppError('invalid_input', 'A signed message needs "nonce" (fresh for each message) and "ts" (now, in ms since the epoch), both covered by the signature.');
    const input = signingInput({ tokenId: c.token.id, roomId: i.roomId, act: i.act, replyTo: i.replyTo, ts: i.ts, nonce: i.nonce, text: i.text });
    if (!verifyEd25519(c.token.publicKey, input, i.sig)) {
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
    return { signed: true, verified: true };
  };

  return {
    'rooms.list': (c) => ({
      rooms: rooms.listRooms(c.author.id).map((r) => ({ id: r.id, name: r.name, unread: r.unread, members: r.members, lastMessageAt: r.lastMessageAt })),
    }),
    'rooms.read': (_c, i) => rooms.listMessages(i),
    'rooms.post': (c, i) => {
      const { signed, verified } = checkSignature(c, i);
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
    'rooms.wait': async (c, i) => ({
      messages: await rooms.waitForMessages({ roomId: i.roomId, after: i.after, timeoutMs: i.timeoutMs, excludeAuthor: i.includeOwn ? undefined : c.author.id }),
    }),
    'rooms.subscribe': (_c, i, session) => {
      if (!session) throw new AppError('invalid_input', 'rooms.subscribe needs the WebSocket; over HTTP use rooms.wait.');
      rooms.getRoom(i.roomId);
      return session.subscribe(i.roomId, i.after);
    },
    'rooms.members': (_c, i) => ({ members: rooms.listMembers(i.roomId) }),
    'rooms.propose': (c, i) => {
      join(i.roomId, c);
      return rooms.propose({ ...i, by: c.author });
    },
    'rooms.vote': (c, i) => {
      const p = rooms.getProposal(i.proposalId);
      join(p.roomId, c);
      return rooms.vote({ ...i, voter: c.author.id });
    },
    'rooms.proposals': (_c, i) => ({ proposals: rooms.listProposals(i.roomId, i.open ? 'open' : undefined) }),
    'rooms.decisions': (_c, i) => ({ decisions: rooms.listDecisions(i.roomId) }),
    'tasks.list': (_c, i) => ({ tasks: rooms.listTasks(i.roomId) }),
    'tasks.create': (c, i) => rooms.createTask({ ...i, by: c.author.id }),
    'tasks.update': (c, i) => rooms.updateTask({ ...i, by: c.author.id }),
    // Only a proposal: the deploy starts when the room's decision on it passes, never from here.
    'deploy.propose': (c, i) => {
      if (!deps.proposeDeploy) throw new AppError('unavailable', 'Deploys are not available in this build of OmniSight; propose in words with the propose tool instead.');
      join(i.roomId, c);
      return deps.proposeDeploy({ ...i, by: c.author });
    },
    'fleet.status': (c) => fleetMethod(c, 'fleet.list', {}),
    'fleet.events': (c, i) => fleetMethod(c, 'swarm.events', { limit: i.limit }),
    'agent.whoami': (c) => ({ tokenId: c.token.id, memberId: c.author.id, name: c.token.name, scopes: c.token.scopes, roles: c.token.roles, hasPublicKey: !!c.token.publicKey }),
    'agent.registerKey': (c, i) => {
      // First registration only; replacing a key is the user's decision (new token in the Agents view).
      if (c.token.publicKey && c.token.publicKey !== i.publicKey)
        throw new AppError('conflict', 'A different public key is already registered with this token. Ask the user for a new token to use another key.');
      tokens.setPublicKey(c.token.id, i.publicKey);
      c.token.publicKey = i.publicKey;
      return { registered: true as const };
    },
  };
}
