// A small client for the agent bridge, shared by the MCP server, the CLI, the tests and the
// benchmark. It remembers the last message id it saw per room so that a reconnect resumes there.
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import type { ContractError, Message } from '../../preload/contract';
import { AGENT_WS_PROTOCOL, BRIDGE_FILE } from './bridge';

const ACK_EVERY_MS = 25;

export class BridgeCallError extends Error {
  constructor(readonly code: ContractError['code'] | 'unreachable', message: string) {
    super(message);
    this.name = 'BridgeCallError';
  }
}

/** ws://127.0.0.1:<port> from --url, or from <dataDir>/bridge.json written by the running app. */
export function resolveBridgeUrl(opts: { url?: string; dataDir: string }): string {
  if (opts.url) {
    const u = new URL(opts.url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
      throw new BridgeCallError('unreachable', `The bridge only listens on this machine; use ws://127.0.0.1:PORT, not ${u.hostname}.`);
    return `${u.protocol === 'http:' ? 'ws:' : u.protocol}//${u.host}`;
  }
  const file = path.join(opts.dataDir, BRIDGE_FILE);
  let info: { port: number; pid: number };
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8')) as { port: number; pid: number };
  } catch {
    throw new BridgeCallError('unreachable', `OmniSight does not seem to be running: ${file} is missing. Start the app, or pass --url ws://127.0.0.1:PORT.`);
  }
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH')
      throw new BridgeCallError('unreachable', `OmniSight is not running (process ${info.pid} from ${file} is gone). Start the app first.`);
  }
  return `ws://127.0.0.1:${info.port}`;
}

/** One call over the HTTP API (for scripts: no socket kept open). */
export async function httpCall<T>(baseUrl: string, token: string, op: string, input: unknown): Promise<T> {
  const url = `${baseUrl.replace(/^ws/, 'http')}/api/${op}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(input ?? {}) });
  } catch (err) {
    throw new BridgeCallError('unreachable', `Cannot reach the OmniSight bridge at ${url}: ${(err as Error).message}. Is the app running?`);
  }
  const body = (await res.json().catch(() => ({ ok: false, error: { code: 'failed', message: `HTTP ${res.status}` } }))) as
    | { ok: true; value: T }
    | { ok: false; error: ContractError };
  if (!body.ok) throw new BridgeCallError(body.error.code, body.error.message);
  return body.value;
}

export interface Welcome {
  tokenId: string;
  memberId: string;
  name: string;
  scopes: string[];
}

export interface BridgeClient {
  readonly welcome: Welcome;
  call<T = unknown>(op: string, input?: unknown): Promise<T>;
  /** Subscribes (or re-subscribes) to a room; with `after`, first sends everything after that id. */
  subscribe(roomId: string, after?: number): Promise<{ backlog: number }>;
  onMessage(listener: (m: Message) => void): () => void;
  /** Acknowledges a received message and, delivery being in order, all before it in its room (automatic unless autoAck is false). */
  ack(m: { roomId: string; id: number }): void;
  lastSeen(roomId: string): number | undefined;
  /** Opens a new socket and resumes every subscribed room from the last id seen. */
  reconnect(): Promise<void>;
  /** Drops the socket without a close handshake (tests: a crash). */
  terminate(): void;
  close(): Promise<void>;
}

export async function connectBridge(opts: { url: string; token: string; autoAck?: boolean }): Promise<BridgeClient> {
  let ws: WebSocket;
  let welcome!: Welcome;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const listeners = new Set<(m: Message) => void>();
  const seen = new Map<string, number>();
  const autoAck = opts.autoAck ?? true;
  const ackMarks = new Map<string, number>();
  let ackTimer: NodeJS.Timeout | undefined;

  // Coalesced: one "up to" per room every ACK_EVERY_MS, however many messages arrived. Acks only
  // move the resume mark, so a few tens of ms late costs nothing, while every 5 ms from 100 busy
  // agents was as many frames for the bridge to parse as the messages themselves.
  const flushAcks = (): void => {
    ackTimer = undefined;
    if (ws.readyState !== ws.OPEN) return;
    for (const [roomId, upTo] of ackMarks) ws.send(JSON.stringify({ type: 'ack', roomId, upTo }));
    ackMarks.clear();
  };
  const ack = (m: { roomId: string; id: number }): void => {
    if (m.id > (ackMarks.get(m.roomId) ?? 0)) ackMarks.set(m.roomId, m.id);
    ackTimer ??= setTimeout(flushAcks, ACK_EVERY_MS);
  };

  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const sock = new WebSocket(`${opts.url.replace(/\/$/, '')}/ws`, AGENT_WS_PROTOCOL, {
        headers: { Authorization: `Bearer ${opts.token}` },
        perMessageDeflate: false,
      });
      ws = sock;
      let welcomed = false;
      sock.on('unexpected-response', (_req, res) => {
        const text =
          res.statusCode === 401
            ? 'The bridge refused the token (missing, wrong, expired or revoked). Ask the user for a valid agent token.'
            : `The bridge refused the connection (HTTP ${res.statusCode}).`;
        reject(new BridgeCallError(res.statusCode === 401 ? 'unauthorized' : 'failed', text));
      });
      sock.on('error', (err) => {
        if (!welcomed) reject(new BridgeCallError('unreachable', `Cannot reach the OmniSight bridge at ${opts.url}: ${err.message}`));
      });
      sock.on('close', () => {
        for (const w of waiting.values()) w.reject(new BridgeCallError('unreachable', 'The connection to the bridge closed.'));
        waiting.clear();
      });
      sock.on('message', (data) => {
        const parsed = JSON.parse(data.toString()) as { type: string; frames?: unknown[] };
        for (const f of parsed.type === 'batch' ? parsed.frames! : [parsed]) onFrame(f as never);
      });
      const onFrame = (
        f:
          | ({ type: 'welcome' } & Welcome)
          | { type: 'result'; id: number; ok: true; value: unknown }
          | { type: 'result'; id: number; ok: false; error: ContractError }
          | { type: 'message'; message: Message }
          | { type: 'error'; message: string },
      ): void => {
        if (f.type === 'welcome') {
          welcome = { tokenId: f.tokenId, memberId: f.memberId, name: f.name, scopes: f.scopes };
          welcomed = true;
          resolve();
        } else if (f.type === 'result') {
          const w = waiting.get(f.id);
          waiting.delete(f.id);
          if (!w) return;
          if (f.ok) w.resolve(f.value);
          else w.reject(new BridgeCallError(f.error.code, f.error.message));
        } else if (f.type === 'message') {
          const m = f.message;
          if (m.id > (seen.get(m.roomId) ?? 0)) seen.set(m.roomId, m.id);
          for (const l of listeners) l(m);
          if (autoAck) ack(m);
        }
      };
    });

  const call = <T>(op: string, input?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (ws.readyState !== ws.OPEN) return reject(new BridgeCallError('unreachable', 'Not connected to the bridge.'));
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify({ type: 'call', id, op, input: input ?? {} }));
    });

  await open();
  return {
    get welcome() {
      return welcome;
    },
    call,
    async subscribe(roomId, after) {
      const from = after ?? seen.get(roomId);
      if (from !== undefined && !seen.has(roomId)) seen.set(roomId, from);
      const r = await call<{ backlog: number; lastId: number }>('rooms.subscribe', from === undefined ? { roomId } : { roomId, after: from });
      if (r.lastId > (seen.get(roomId) ?? 0)) seen.set(roomId, r.lastId);
      return r;
    },
    onMessage(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    ack,
    lastSeen: (roomId) => seen.get(roomId),
    async reconnect() {
      if (ws.readyState === ws.OPEN) ws.terminate();
      await open();
      for (const [roomId, after] of seen) await call('rooms.subscribe', { roomId, after });
    },
    terminate: () => ws.terminate(),
    async close() {
      if (ackTimer) clearTimeout(ackTimer);
      flushAcks();
      if (ws.readyState === ws.CLOSED) return;
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000);
      });
    },
  };
}
