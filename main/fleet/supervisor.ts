// Main's side of the helper: starts it through the HelperLauncher port, restarts it with
// exponential backoff when it dies, and turns the message protocol into typed promises with
// request ids and timeouts. Everything the helper says is validated before it is believed.
import { AppError } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { HelperChannel, HelperLauncher } from '../kernel/ports';
import {
  createHelperCore,
  forkHelperFromSource,
  helperResultSchemas,
  parseFromHelper,
  type FromHelper,
  type HelperCoreOptions,
  type HelperErrorKind,
  type HelperOp,
  type HelperRequest,
  type HelperResult,
} from '../helper';

/** A helper failure carried to callers with its kind, so the fleet can word it for the user. */
export class HelperCallError extends Error {
  constructor(
    readonly kind: HelperErrorKind | 'helper_down' | 'helper_timeout',
    message: string,
  ) {
    super(message);
    this.name = 'HelperCallError';
  }
}

export interface SupervisorOptions {
  launch: HelperLauncher;
  entry: string;
  log: Logger;
  now?: () => number;
  requestTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A run longer than this resets the backoff. */
  stableAfterMs?: number;
  /** Frames and stream status. */
  onEvent?: (ev: Extract<FromHelper, { type: 'frame' | 'status' }>) => void;
  /** Upload bytes and build output lines (deploy). */
  onProgress?: (ev: Extract<FromHelper, { type: 'progress' }>) => void;
  /** Called after each (re)start once the helper said ready: re-send what it should be doing. */
  onReady?: (restarted: boolean) => void;
}

export interface HelperSupervisor {
  call<O extends HelperOp>(req: Extract<HelperRequest, { op: O }>, timeoutMs?: number): Promise<HelperResult<O>>;
  readonly restarts: number;
  readonly pid: number | undefined;
  readonly ready: boolean;
  /** Resolves when the helper has said ready (now or after the next restart). */
  whenReady(): Promise<void>;
  close(): void;
}

interface Pending {
  op: HelperOp;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export function createHelperSupervisor(o: SupervisorOptions): HelperSupervisor {
  const now = o.now ?? Date.now;
  const base = o.backoffBaseMs ?? 250;
  const max = o.backoffMaxMs ?? 30_000;
  const stableAfter = o.stableAfterMs ?? 30_000;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let channel: HelperChannel | undefined;
  let ready = false;
  let closed = false;
  let restarts = 0;
  let crashesInARow = 0;
  let startedAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let readyWaiters: (() => void)[] = [];
  let malformed = 0;

  const failAll = (err: Error): void => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(err);
      pending.delete(id);
    }
  };

  const onMessage = (raw: unknown): void => {
    const m = parseFromHelper(raw);
    if (!m) {
      malformed++;
      if (malformed <= 5 || malformed % 100 === 0) o.log.warn({ malformed }, 'helper sent a malformed message; ignored');
      return;
    }
    switch (m.type) {
      case 'ready': {
        ready = true;
        const wasRestart = restarts > 0;
        o.log.info({ pid: m.pid, restarts }, 'helper ready');
        for (const w of readyWaiters) w();
        readyWaiters = [];
        o.onReady?.(wasRestart);
        return;
      }
      case 'response': {
        const p = pending.get(m.id);
        if (!p) return; // late reply after a timeout
        pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.ok) {
          const parsed = helperResultSchemas[p.op].safeParse(m.value);
          if (parsed.success) p.resolve(parsed.data);
          else p.reject(new HelperCallError('internal', `The helper replied to ${p.op} with an unexpected shape.`));
        } else {
          p.reject(new HelperCallError(m.error?.kind ?? 'internal', m.error?.message ?? 'The helper failed without saying why.'));
        }
        return;
      }
      case 'log':
        o.log[m.level]({ from: 'helper', ...m.detail }, m.msg);
        return;
      case 'progress':
        o.onProgress?.(m);
        return;
      default:
        o.onEvent?.(m);
    }
  };

  const start = (): void => {
    if (closed) return;
    ready = false;
    startedAt = now();
    const ch = o.launch(o.entry);
    channel = ch;
    ch.onMessage(onMessage);
    ch.onExit((code) => {
      if (channel !== ch) return;
      channel = undefined;
      ready = false;
      failAll(new HelperCallError('helper_down', 'The camera helper process stopped; it is restarting. Try again in a moment.'));
      if (closed) return;
      crashesInARow = now() - startedAt > stableAfter ? 1 : crashesInARow + 1;
      const delay = Math.min(max, base * 2 ** (crashesInARow - 1));
      o.log.warn({ code, delay, restarts }, 'helper exited; restarting');
      restartTimer = setTimeout(() => {
        restarts++;
        start();
      }, delay);
    });
  };

  start();

  return {
    call(req, timeoutMs = o.requestTimeoutMs ?? 20_000) {
      if (closed) return Promise.reject(new HelperCallError('helper_down', 'The app is shutting down.'));
      if (!channel) return Promise.reject(new HelperCallError('helper_down', 'The camera helper process is restarting. Try again in a moment.'));
      const id = nextId++;
      const ch = channel;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new HelperCallError('helper_timeout', `The camera helper did not answer ${req.op} within ${Math.round(timeoutMs / 1000)} s. Try again.`));
        }, timeoutMs);
        pending.set(id, { op: req.op, resolve: resolve as (v: unknown) => void, reject, timer });
        ch.send({ type: 'request', id, req });
      });
    },
    get restarts() {
      return restarts;
    },
    get pid() {
      return channel?.pid;
    },
    get ready() {
      return ready;
    },
    whenReady() {
      return ready ? Promise.resolve() : new Promise((r) => readyWaiters.push(r));
    },
    close() {
      closed = true;
      clearTimeout(restartTimer);
      failAll(new HelperCallError('helper_down', 'The app is shutting down.'));
      channel?.kill();
      channel = undefined;
    },
  };
}

/** Turns a helper failure into the AppError the user reads. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HelperCallError) {
    switch (err.kind) {
      case 'unauthorized':
        return new AppError('unauthorized', err.message);
      case 'forbidden':
        return new AppError('forbidden', err.message);
      case 'helper_down':
      case 'helper_timeout':
      case 'timeout':
      case 'refused':
      case 'unreachable':
        return new AppError('unavailable', err.message);
      case 'too_large':
        return new AppError('too_large', err.message);
      case 'invalid_request':
        return new AppError('invalid_input', err.message);
      case 'cert_changed':
      case 'cert_untrusted':
        return new AppError('conflict', err.message);
      default:
        return new AppError('failed', err.message);
    }
  }
  return new AppError('internal', 'The camera helper failed unexpectedly. The details are in the log file; try again.');
}

/**
 * Hosts the helper's logic in this process behind the same message boundary (messages are
 * structured-cloned both ways, as over IPC). For tests and for runs without a built helper.
 */
export function inProcessHelper(opts: Omit<HelperCoreOptions, 'send'> = {}): HelperLauncher {
  return () => {
    const listeners: ((m: unknown) => void)[] = [];
    const exits: ((code: number | null) => void)[] = [];
    let alive = true;
    const core = createHelperCore({
      ...opts,
      send: (m) => {
        if (!alive) return;
        const copy = structuredClone(m);
        queueMicrotask(() => alive && listeners.forEach((l) => l(copy)));
      },
    });
    setImmediate(() => alive && listeners.forEach((l) => l({ type: 'ready', pid: process.pid })));
    return {
      send: (m) => {
        const copy = structuredClone(m);
        queueMicrotask(() => alive && core.handle(copy));
      },
      onMessage: (l) => listeners.push(l),
      onExit: (l) => exits.push(l),
      kill: () => {
        if (!alive) return;
        alive = false;
        core.close();
        setImmediate(() => exits.forEach((l) => l(null)));
      },
      pid: process.pid,
    };
  };
}

/** Re-exported for the callers that start a supervisor from sources (tests, benchmarks). */
export { forkHelperFromSource };
