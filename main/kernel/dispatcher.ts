import {
  isMethodName,
  methodNames,
  methods,
  type CallResult,
  type MethodArgs,
  type MethodName,
  type MethodOutput,
} from '../../preload/contract';
import { AppError } from './errors';
import type { Logger } from './logger';
import { describeZodError } from './validation';

export interface CallContext {
  /** Which front door the call came through. */
  transport: 'ipc' | 'ws' | 'internal' | 'agent';
  /** Who is calling: a window, a peer address, an agent name. */
  peer: string;
}

export type Handler<M extends MethodName> = (
  input: MethodArgs<M>,
  ctx: CallContext,
) => MethodOutput<M> | Promise<MethodOutput<M>>;
export type Handlers = { [M in MethodName]?: Handler<M> };

export interface RejectedCall {
  method: string;
  code: 'unknown_method' | 'invalid_input';
  message: string;
  ctx: CallContext;
}

export interface Dispatcher {
  /** Validates and runs one call. Never throws: every failure is a structured error. */
  dispatch(method: unknown, input: unknown, ctx: CallContext): Promise<CallResult<unknown>>;
  register(handlers: Handlers): void;
  /** Methods in the contract that no service has registered yet (a wiring mistake). */
  unhandled(): MethodName[];
}

function closestNames(name: string): string[] {
  const prefix = name.split('.')[0] ?? '';
  return methodNames.filter((m) => m.startsWith(`${prefix}.`)).slice(0, 6);
}

export function createDispatcher(opts: { log: Logger; onRejected?: (r: RejectedCall) => void }): Dispatcher {
  const handlers: Handlers = {};

  return {
    register(more) {
      for (const key of Object.keys(more) as MethodName[]) {
        if (handlers[key]) throw new Error(`Two services registered ${key}`);
      }
      Object.assign(handlers, more);
    },
    unhandled: () => methodNames.filter((m) => !handlers[m]),
    async dispatch(method, input, ctx) {
      if (!isMethodName(method)) {
        const name = typeof method === 'string' ? method.slice(0, 100) : typeof method;
        const near = typeof method === 'string' ? closestNames(method) : [];
        const message = `Unknown method "${name}".${near.length ? ` Methods nearby: ${near.join(', ')}.` : ''}`;
        opts.onRejected?.({ method: name, code: 'unknown_method', message, ctx });
        return { ok: false, error: { code: 'unknown_method', message } };
      }
      const parsed = methods[method].input.safeParse(input ?? {});
      if (!parsed.success) {
        const { message, issues } = describeZodError(parsed.error);
        opts.onRejected?.({ method, code: 'invalid_input', message, ctx });
        return { ok: false, error: { code: 'invalid_input', message: `${method}: ${message}`, issues } };
      }
      const handler = handlers[method] as Handler<typeof method> | undefined;
      if (!handler) {
        return { ok: false, error: { code: 'unavailable', message: `${method} is not available in this build.` } };
      }
      try {
        const value = await handler(parsed.data as never, ctx);
        return { ok: true, value };
      } catch (err) {
        if (err instanceof AppError) return { ok: false, error: err.toContract() };
        opts.log.error({ err, method, peer: ctx.peer }, 'handler failed');
        return {
          ok: false,
          error: { code: 'internal', message: `${method} failed unexpectedly. The details are in the log file; try again.` },
        };
      }
    },
  };
}
