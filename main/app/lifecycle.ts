// The composition root's two small tools for "build every service, then link them":
//  - a Signal is a one-way channel made before the services on either side of it: the producer is
//    built with `emit`, the consumer is attached in the link phase with `on` (no reference to a
//    service that does not exist yet, nothing filled in later);
//  - Closers is the one list of what to close: each service is added as it is built, and close()
//    runs them in reverse order of construction.
import type { Logger } from '../kernel/logger';

export interface Signal<A extends unknown[]> {
  emit: (...args: A) => void;
  /** Attaches a listener; returns its detach. */
  on(listener: (...args: A) => void): () => void;
}

export function createSignal<A extends unknown[]>(): Signal<A> {
  const listeners = new Set<(...args: A) => void>();
  return {
    emit: (...args) => {
      for (const l of listeners) l(...args);
    },
    on(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

export interface Closers {
  /** Registers what closes a thing just built (a service, a link's detach); returns the thing. */
  add<T>(name: string, thing: T, close: (thing: T) => unknown): T;
  /** Closes everything in reverse order of add(), each once; a failure is logged, the rest still
   * close, and the first failure is rethrown at the end. */
  closeAll(): Promise<void>;
  /** Names in the order they will close (for tests and the start-up log). */
  order(): string[];
}

export function createClosers(log: Logger): Closers {
  const list: { name: string; close: () => unknown }[] = [];
  let closing: Promise<void> | undefined;
  return {
    add(name, thing, close) {
      list.push({ name, close: () => close(thing) });
      return thing;
    },
    order: () => list.map((c) => c.name).reverse(),
    closeAll() {
      closing ??= (async () => {
        let first: unknown;
        for (const c of list.splice(0).reverse()) {
          try {
            await c.close();
          } catch (err) {
            log.error({ err, closing: c.name }, 'closing failed; closing the rest');
            first ??= err;
          }
        }
        if (first !== undefined) throw first;
      })();
      return closing;
    },
  };
}
