// The state machine behind useQuery, free of React and of the transport so its rules are tested:
// one fetch in flight at a time (a burst of events while it runs costs one more fetch, not one
// each), a fetch that started before an event was applied never overwrites that newer data, an
// error keeps the last good data beside it, and nothing is reported after dispose.
import { errorText } from '../transport/types';

export interface QueryState<T> {
  data: T | undefined;
  /** The last failure, in words for the user; cleared by the next success. */
  error: string | undefined;
  /** True until the first fetch settles. */
  loading: boolean;
  /** When data last changed (ms, from the injected clock). */
  updatedAt: number | undefined;
}

export interface QueryController<T> {
  /**
   * Fetch now, or once more after the fetch in flight settles. `immediate` skips the minimum
   * interval: after the user's own action the answer should not wait behind event traffic.
   */
  refresh(opts?: { immediate?: boolean }): void;
  /**
   * Change the data in place from an event; returning `prev` unchanged means "not for me". With
   * `patch`, the event changes a part only: a fetch in flight is still taken when it lands (it is
   * newer in every other part); without it, that fetch is older than the data and dropped.
   */
  apply(fn: (prev: T | undefined) => T | undefined, opts?: { patch?: boolean }): void;
  state(): QueryState<T>;
  dispose(): void;
}

export interface QueryTiming {
  now(): number;
  /** Fetches start at least this far apart (an event that comes 5 times a second need not cost 5 calls). */
  minIntervalMs?: number;
  setTimeout?(fn: () => void, ms: number): unknown;
  clearTimeout?(handle: unknown): void;
}

export function createQuery<T>(fetch: () => Promise<T>, notify: (s: QueryState<T>) => void, timing: QueryTiming | (() => number) = Date.now): QueryController<T> {
  const t: QueryTiming = typeof timing === 'function' ? { now: timing } : timing;
  const now = t.now;
  const gap = t.minIntervalMs ?? 0;
  let lastStart = -Infinity;
  let waiting: unknown;
  let state: QueryState<T> = { data: undefined, error: undefined, loading: true, updatedAt: undefined };
  let inFlight = false;
  let again = false;
  let disposed = false;
  // Bumped by every apply: a fetch whose answer was computed before it is older than the data.
  let generation = 0;

  const set = (patch: Partial<QueryState<T>>): void => {
    if (disposed) return;
    state = { ...state, ...patch };
    notify(state);
  };

  const run = (): void => {
    const wait = lastStart + gap - now();
    if (wait > 0 && t.setTimeout) {
      // Too soon after the last one: one fetch at the end of the gap stands for all asked meanwhile.
      if (waiting === undefined)
        waiting = t.setTimeout(() => {
          waiting = undefined;
          if (!disposed && !inFlight) run();
          else if (inFlight) again = true;
        }, wait);
      return;
    }
    lastStart = now();
    inFlight = true;
    again = false;
    const startedAt = generation;
    fetch().then(
      (data) => {
        if (startedAt === generation) set({ data, error: undefined, loading: false, updatedAt: now() });
        else set({ error: undefined, loading: false });
      },
      (err: unknown) => set({ error: errorText(err), loading: false }),
    ).finally(() => {
      inFlight = false;
      if (again && !disposed) run();
    });
  };

  return {
    refresh(opts) {
      if (disposed) return;
      if (opts?.immediate) {
        if (waiting !== undefined) t.clearTimeout?.(waiting);
        waiting = undefined;
        lastStart = -Infinity;
      }
      if (inFlight) again = true;
      else if (waiting === undefined) run();
    },
    apply(fn, opts) {
      if (disposed) return;
      const next = fn(state.data);
      if (next === state.data) return;
      if (!opts?.patch) generation++;
      set({ data: next, loading: false, updatedAt: now() });
    },
    state: () => state,
    dispose() {
      disposed = true;
      if (waiting !== undefined) t.clearTimeout?.(waiting);
    },
  };
}

/** A stable key for a call's input, so a hook refetches when the input changes and only then. */
export const inputKey = (input: unknown): string => JSON.stringify(input, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
