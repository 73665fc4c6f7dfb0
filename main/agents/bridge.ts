// The agent bridge: its own server on 127.0.0.1 (WebSocket at /ws, JSON HTTP at /api/<op>), apart
// from browser mode's server. Every request carries an agent token; every refusal is audited.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  bridgeOperations,
  isBridgeOperation,
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
import { createOperations, fastPost, isPlainObject, type Caller, type Session } from './operations';
import { createRateLimiter, createReplayGuard, REPLAY_WINDOW_MS, refusalText, type NonceStore, type TokenStore } from './tokens';

export const AGENT_WS_PROTOCOL = 'omnisight.agent.v1';
export const MAX_FRAME_BYTES = 256 * 1024;
/**
 * How far a connection may fall behind before the bridge drops it: room-message bytes sent and not
 * acknowledged, or bytes Node still holds for the socket. See `behind` in startBridgeServer.
 */
export const MAX_BEHIND_BYTES = 8 * 1024 * 1024;
/** Close code for a connection dropped for being too far behind (4000–4999: the application's). */
export const CLOSE_TOO_FAR_BEHIND = 4008;
const PONG = Buffer.from('{"type":"pong"}');
export const BRIDGE_FILE = 'bridge.json';

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
  /** MAX_BEHIND_BYTES unless a test sets a smaller bound. */
  maxBehindBytes?: number;
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
  /** Per room, [message id, frame bytes] of each room message sent and not acknowledged yet, oldest first. */
  unacked: Map<string, [number, number][]>;
  unackedBytes: number;
  /** Set by the first acknowledgement: from then on unacknowledged bytes bound the connection. */
  acking: boolean;
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

/** rooms.post's input as the contract defines it (the fast path must agree with it). */
export { bridgePostInputSchema as postSchema } from '../../preload/contract';
export { fastPost };

/** A rate-limit refusal that knows when a retry can succeed (HTTP answers it with Retry-After). */
class RateLimited extends AppError {
  constructor(
    readonly retryAfterMs: number,
    message: string,
  ) {
    super('rate_limited', message);
  }
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
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
  const maxBehind = deps.maxBehindBytes ?? MAX_BEHIND_BYTES;
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
        if (behind(c)) dropBehind(c);
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

  // A reader that stops reading (a hung agent, a stopped process) must not grow main's memory. Node's
  // ws.bufferedAmount counts only the bytes not yet handed to the kernel; on loopback the kernel's
  // send and receive buffers hold megabytes more, so a reader can be that far behind while
  // bufferedAmount is 0. A client that acknowledges (the ack frame, which client.ts sends every
  // 25 ms) is held to what it has not acknowledged, which counts every byte in between; one that
  // never acknowledges (a script) is held to bufferedAmount alone, which still bounds main's memory:
  // the kernel's part is the kernel's, limited by its socket buffer sizes. Dropping loses nothing:
  // every message is in the database, and a reconnect that subscribes with `after` (client.ts does)
  // gets the rest as its backlog.
  const behind = (c: Conn): boolean => c.ws.bufferedAmount > maxBehind || (c.acking && c.unackedBytes > maxBehind);
  const noteSent = (c: Conn, roomId: string, id: number, bytes: number): void => {
    let list = c.unacked.get(roomId);
    if (!list) c.unacked.set(roomId, (list = []));
    list.push([id, bytes]);
    c.unackedBytes += bytes;
    if (c.acking && c.unackedBytes > maxBehind) dropBehind(c);
  };
  const noteAcked = (c: Conn, roomId: string, upTo: number): void => {
    c.acking = true;
    const list = c.unacked.get(roomId);
    if (!list) return;
    let n = 0;
    while (n < list.length && list[n]![0] <= upTo) c.unackedBytes -= list[n++]![1];
    list.splice(0, n);
  };
  const dropBehind = (c: Conn): void => {
    if (c.ws.readyState !== c.ws.OPEN) return;
    const detail = { unackedBytes: c.unackedBytes, bufferedBytes: c.ws.bufferedAmount, limit: maxBehind };
    refuse(`agent:${c.caller.token.id}`, 'too far behind', `Dropped an agent connection that fell more than ${Math.round(maxBehind / 1048576)} MiB behind; it can reconnect and resume`, detail);
    // A close frame would wait behind everything the reader has not read: end the socket now.
    c.ws.terminate();
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

  /** rooms.subscribe on a socket: the backlog and the subscription in the same turn, so nothing committed in between is missed. */
  const sessionOf = (conn: Conn): Session => ({
    subscribe(roomId, after) {
      const c = conn.caller;
      let cursor = after ?? Number.MAX_SAFE_INTEGER;
      let sent = 0;
      if (after !== undefined) {
        // Resuming after X says "I have everything up to X": that is an acknowledgement too.
        const upTo = Math.min(after, rooms.listMessages({ roomId, limit: 1 }).messages[0]?.id ?? 0);
        if (upTo > 0) {
          conn.sentUpTo.set(roomId, Math.max(conn.sentUpTo.get(roomId) ?? 0, upTo));
          markDelivered(c.author.id, roomId, upTo);
        }
        for (;;) {
          const page = rooms.listMessages({ roomId, after: cursor, limit: 500 });
          for (const m of page.messages) {
            if (m.author.id !== c.author.id) {
              const f = Buffer.from(`{"type":"message","message":${jsonOfMessage(m)}}`);
              sendTo(conn, f);
              conn.sentUpTo.set(m.roomId, m.id);
              noteSent(conn, m.roomId, m.id, f.length);
              sent++;
            }
            cursor = m.id;
          }
          if (!page.hasMore) break;
        }
      }
      if (after === undefined) cursor = rooms.listMessages({ roomId, limit: 1 }).messages[0]?.id ?? 0;
      conn.rooms.add(roomId);
      conn.floor.set(roomId, cursor);
      let set = byRoom.get(roomId);
      if (!set) byRoom.set(roomId, (set = new Set()));
      set.add(conn);
      announceConnected();
      return { roomId, backlog: sent, lastId: cursor };
    },
  });

  const ops = createOperations({ rooms, tokens, replay, dispatcher: deps.dispatcher, proposeDeploy: deps.proposeDeploy, refuse });
  const sessions = new WeakMap<Conn, Session>();

  /** Scope, rate limit and validation (against the contract) for one call; throws AppError for refusals. */
  const runOp = async (c: Caller, op: string, input: unknown, conn?: Conn): Promise<unknown> => {
    const src = `agent:${c.token.id}`;
    if (!isBridgeOperation(op)) {
      refuse(src, 'unknown op', `Refused an agent call to an unknown operation`, { op: op.slice(0, 80) });
      throw new AppError('unknown_method', `Unknown operation "${op.slice(0, 80)}". Operations: ${Object.keys(bridgeOperations).join(', ')}.`);
    }
    const spec = bridgeOperations[op];
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
    let session: Session | undefined;
    if (conn && !(session = sessions.get(conn))) sessions.set(conn, (session = sessionOf(conn)));
    // The common post, plainly valid, skips the schema pass (fastPost accepts nothing the schema refuses).
    const quick = op === 'rooms.post' ? fastPost(input) : undefined;
    if (quick !== undefined) return ops['rooms.post'](c, quick, session);
    const parsed = spec.input.safeParse(input ?? {});
    if (!parsed.success) {
      const { message, issues } = describeZodError(parsed.error);
      refuse(src, 'invalid input', `Refused an agent call to ${op}: ${message}`, { op });
      throw new AppError('invalid_input', `${op}: ${message}`, issues);
    }
    return (ops[op] as (c: Caller, i: unknown, s?: Session) => unknown)(c, parsed.data, session);
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
        noteSent(c, m.roomId, m.id, frame.length);
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
    const conn: Conn = { ws, caller, connectedAt: t, lastSeenAt: t, rooms: new Set(), sentUpTo: new Map(), floor: new Map(), out: [], unacked: new Map(), unackedBytes: 0, acking: false };
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
        noteAcked(conn, frame.roomId, frame.upTo);
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
