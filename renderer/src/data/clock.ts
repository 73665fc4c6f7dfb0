// The one clock hook: a component that shows relative times ("5 s ago", countdowns) re-renders on
// a tick shared with every other one at the same period instead of keeping a timer of its own.
import { useCallback, useRef, useSyncExternalStore } from 'react';
import { createTicker } from './clockCore';

const ticker = createTicker({
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
  now: () => Date.now(),
});

/** The time, updated every `periodMs` while `active`; the time of the last render when not. */
export function useNow(periodMs = 1000, active = true): number {
  const still = useRef(Date.now());
  const subscribe = useCallback((l: () => void) => (active ? ticker.subscribe(periodMs, l) : () => {}), [periodMs, active]);
  const now = useSyncExternalStore(subscribe, () => (active ? (ticker.now(periodMs) ?? still.current) : still.current));
  still.current = now;
  return now;
}
