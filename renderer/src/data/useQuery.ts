// The renderer's one way to show server data: call a contract method, keep the answer, and call it
// again when an event says it changed (or apply the event in place when it carries the data).
// Polling is only for answers no event announces, and says so where it is used.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { EventPayload, EventTopic, MethodInput, MethodName, MethodOutput } from '../../../preload/contract';
import { transport } from '../transport';
import { createQuery, inputKey, type QueryController, type QueryState } from './queryCore';

export type ApplyMap<O> = { [T in EventTopic]?: (prev: O | undefined, payload: EventPayload<T>) => O | undefined };
/** Events after which to fetch again, each with a test of whether this one concerns us. */
export type RefreshMap = { [T in EventTopic]?: (payload: EventPayload<T>) => boolean };

export interface FetchOptions<O> {
  /** Events after which the answer may differ: fetch again (bursts coalesce into one fetch). */
  refreshOn?: readonly EventTopic[] | RefreshMap;
  /** Events that carry the new answer: applied in place, no call (a fetch in flight is then stale). */
  apply?: ApplyMap<O>;
  /** Events that change one part of the answer: applied in place; a fetch in flight still counts. */
  patch?: ApplyMap<O>;
  /** When false: no call and no subscription (nothing selected yet, capability absent). */
  enabled?: boolean;
  /** Only where no event announces a change (say which at the call). */
  pollMs?: number;
  /** Fetches start at least this far apart, for events that come several times a second. */
  minIntervalMs?: number;
}

export interface Query<O> extends QueryState<O> {
  refresh(opts?: { immediate?: boolean }): void;
  /** Change the kept answer in place (after an action whose result is known). */
  apply(fn: (prev: O | undefined) => O | undefined): void;
}

const refreshTopics = (r: FetchOptions<unknown>['refreshOn']): EventTopic[] => (!r ? [] : Array.isArray(r) ? [...(r as EventTopic[])] : (Object.keys(r) as EventTopic[]));
function concerns(r: FetchOptions<unknown>['refreshOn'], topic: EventTopic, payload: unknown): boolean {
  if (!r) return false;
  if (Array.isArray(r)) return (r as EventTopic[]).includes(topic);
  const test = (r as Record<string, ((p: unknown) => boolean) | undefined>)[topic];
  return !!test && test(payload);
}

const idle = <O,>(): QueryState<O> => ({ data: undefined, error: undefined, loading: false, updatedAt: undefined });

/** Any fetch (several calls together, a derived answer); `key` says when it must start over. */
export function useFetch<O>(fetcher: () => Promise<O>, key: string, opts: FetchOptions<O> = {}): Query<O> {
  const enabled = opts.enabled ?? true;
  const [state, setState] = useState<QueryState<O>>(() => (enabled ? { ...idle<O>(), loading: true } : idle<O>()));
  const ctl = useRef<QueryController<O> | undefined>(undefined);
  const latest = useRef({ fetcher, opts });
  latest.current = { fetcher, opts };
  const topics = [...new Set([...refreshTopics(opts.refreshOn), ...(Object.keys(opts.apply ?? {}) as EventTopic[]), ...(Object.keys(opts.patch ?? {}) as EventTopic[])])].sort().join(',');

  useEffect(() => {
    if (!enabled) {
      setState(idle<O>());
      return;
    }
    const t = transport();
    const q = createQuery<O>(() => latest.current.fetcher(), setState, {
      now: () => Date.now(),
      minIntervalMs: latest.current.opts.minIntervalMs,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    });
    ctl.current = q;
    setState(q.state());
    q.refresh();
    const offs = (topics ? (topics.split(',') as EventTopic[]) : []).map((topic) =>
      t.on(topic, (payload) => {
        const reducer = latest.current.opts.apply?.[topic] as ((prev: O | undefined, p: unknown) => O | undefined) | undefined;
        if (reducer) q.apply((prev) => reducer(prev, payload));
        const patcher = latest.current.opts.patch?.[topic] as ((prev: O | undefined, p: unknown) => O | undefined) | undefined;
        if (patcher) q.apply((prev) => patcher(prev, payload), { patch: true });
        if (concerns(latest.current.opts.refreshOn, topic, payload)) q.refresh();
      }),
    );
    // After a reconnect anything may have changed while we were away.
    let wasOpen = t.state().status === 'open';
    offs.push(
      t.onState((s) => {
        const open = s.status === 'open';
        if (open && !wasOpen) q.refresh();
        wasOpen = open;
      }),
    );
    const poll = latest.current.opts.pollMs;
    const timer = poll ? setInterval(() => q.refresh(), poll) : undefined;
    return () => {
      if (timer) clearInterval(timer);
      offs.forEach((off) => off());
      q.dispose();
      if (ctl.current === q) ctl.current = undefined;
    };
  }, [key, topics, enabled]);

  // Stable for the component's life, so they can sit in effect dependencies.
  const stable = useRef({
    refresh: (opts?: { immediate?: boolean }) => ctl.current?.refresh(opts),
    apply: (fn: (prev: O | undefined) => O | undefined) => ctl.current?.apply(fn),
  });
  return useMemo(() => ({ ...state, ...stable.current }), [state]);
}

/** One contract method's answer, kept fresh by the events named for it. */
export function useQuery<M extends MethodName>(method: M, input: MethodInput<M>, opts: FetchOptions<MethodOutput<M>> = {}): Query<MethodOutput<M>> {
  const key = `${method} ${inputKey(input)}`;
  const inputRef = useRef(input);
  inputRef.current = input;
  return useFetch(() => transport().call(method, inputRef.current), key, opts);
}
