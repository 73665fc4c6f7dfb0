import type { ContractError } from '../../../preload/contract';
import { CallError, type ConnectionState, type Transport } from './types';

const PROTOCOL = 'omnisight.v1';

/** Whether the page's server answers plain HTTP (it serves this page, so `/` is always there). */
async function serverAnswers(): Promise<boolean> {
  try {
    const r = await fetch(`${window.location.origin}/`, { method: 'HEAD', cache: 'no-store' });
    return r.ok || r.status < 500;
  } catch {
    return false;
  }
}
const CALL_TIMEOUT_MS = 30_000;

interface Pending {
  resolve: (v: never) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Browser mode: one WebSocket to the loopback server, the token offered as a subprotocol. It
 * reconnects by itself with capped exponential backoff and says so through its state.
 */
const ACK_STEP_BYTES = 64 * 1024;

export function createWsTransport(url: string, initialToken: string, probe: () => Promise<boolean> = serverAnswers): Transport {
  let token = initialToken;
  let ws: WebSocket | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let everOpen = false;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const handlers = new Map<string, Set<(p: unknown) => void>>();
  const stateListeners = new Set<(s: ConnectionState) => void>();
  let state: ConnectionState = { status: 'connecting', attempt: 0, since: Date.now() };
  const queue: string[] = [];
  const binaryHandlers = new Set<(data: ArrayBuffer) => void>();

  const setState = (s: Omit<ConnectionState, 'since'>): void => {
    state = { ...s, since: s.status === state.status ? state.since : Date.now() };
    for (const l of stateListeners) l(state);
  };

  const failPending = (why: string): void => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new CallError({ code: 'unavailable', message: why }));
      pending.delete(id);
    }
  };

  const connect = (): void => {
    retry = undefined;
    if (!token) {
      // Nothing to offer: retrying cannot help. Say what to do instead.
      setState({
        status: 'closed',
        attempt: 0,
        problem: 'no-token',
        detail: 'This address has no token. Open the address OmniSight printed when it started (it ends in #token=…), or paste it here.',
      });
      return;
    }
    const socket = new WebSocket(url, [PROTOCOL, `token.${token}`]);
    // Frames arrive as binary messages; ArrayBuffer avoids a Blob round trip per frame.
    socket.binaryType = 'arraybuffer';
    ws = socket;
    // Binary bytes taken off this socket, acknowledged after each frame: main then counts what is
    // still queued between it and this page (kernel buffers, the browser's queue) and drops frames
    // beyond 1 MiB instead of queueing seconds of them (docs/protocol.md, "Browser mode").
    // Acknowledged in steps of 64 KiB (each send is a few % of the page's thread with 16 HD feeds):
    // main then overestimates what is queued by less than that, far under its 1 MiB mark.
    let received = 0;
    let acked = 0;
    socket.onopen = () => {
      everOpen = true;
      setState({ status: 'open', attempt: 0 });
      for (const m of queue.splice(0)) socket.send(m);
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') {
        if (ev.data instanceof ArrayBuffer) {
          for (const h of binaryHandlers) h(ev.data);
          received += ev.data.byteLength;
          if (received - acked >= ACK_STEP_BYTES && socket.readyState === WebSocket.OPEN) {
            socket.send(`{"type":"ack","bytes":${received}}`);
            acked = received;
          }
        }
        return;
      }
      const msg = JSON.parse(ev.data) as { type: string; id?: number; topic?: string; payload?: unknown; ok?: boolean; value?: unknown; error?: ContractError };
      if (msg.type === 'result' && msg.id !== undefined) {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.value as never);
        else p.reject(new CallError(msg.error!));
      } else if (msg.type === 'event' && msg.topic) {
        for (const h of handlers.get(msg.topic) ?? []) h(msg.payload);
      }
    };
    socket.onclose = () => {
      if (ws !== socket) return; // replaced by a connection with a new token
      failPending('The connection to OmniSight was lost; it is reconnecting. Try again in a moment.');
      const attempt = state.attempt + 1;
      const delay = Math.min(5000, 250 * 2 ** Math.min(attempt, 5));
      setState({ status: 'reconnecting', attempt, detail: state.problem ? state.detail : `Reconnecting (attempt ${attempt})…`, problem: state.problem });
      // A socket refused at the handshake looks like any other close: ask the server over HTTP
      // whether it is there at all. If it is, it is the token it does not take.
      void probe().then((up) => {
        if (ws !== socket || state.status === 'open') return;
        if (up)
          setState({
            status: 'reconnecting',
            attempt,
            problem: 'token-refused',
            detail: everOpen
              ? 'OmniSight is running again but does not take this page’s token (it was restarted). Paste the new address it printed.'
              : 'OmniSight does not take the token in this address. Paste the address it printed when it started.',
          });
        else if (attempt > 3) setState({ status: 'reconnecting', attempt, problem: 'unreachable', detail: 'Cannot reach OmniSight: is it running? It reconnects by itself when it is back.' });
      });
      retry = setTimeout(connect, delay);
    };
  };
  connect();

  return {
    kind: 'ws',
    call(method, input) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new CallError({ code: 'unavailable', message: `${method} got no answer within ${CALL_TIMEOUT_MS / 1000} s.` }));
        }, CALL_TIMEOUT_MS);
        pending.set(id, { resolve: resolve as (v: never) => void, reject, timer });
        const msg = JSON.stringify({ type: 'call', id, method, input });
        if (ws?.readyState === WebSocket.OPEN) ws.send(msg);
        else queue.push(msg);
      });
    },
    on(topic, handler) {
      let set = handlers.get(topic);
      if (!set) handlers.set(topic, (set = new Set()));
      set.add(handler as (p: unknown) => void);
      return () => set.delete(handler as (p: unknown) => void);
    },
    state: () => state,
    onState(l) {
      stateListeners.add(l);
      return () => stateListeners.delete(l);
    },
    socket: () => ws,
    useToken(next) {
      token = next;
      if (retry) clearTimeout(retry);
      const old = ws;
      ws = undefined;
      if (old && old.readyState !== WebSocket.CLOSED) old.close();
      setState({ status: 'connecting', attempt: 0, detail: 'Connecting with the new token…' });
      connect();
    },
    onBinary(handler) {
      binaryHandlers.add(handler);
      return () => binaryHandlers.delete(handler);
    },
  };
}
