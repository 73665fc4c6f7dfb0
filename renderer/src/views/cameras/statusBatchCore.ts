// Camera status events arrive one per camera per change: with N cameras streaming that is about N
// events a second (the fps figure moves every second). Applying each to the store re-rendered the
// whole grid each time, so the page's work grew with the square of the cameras shown and every
// further camera made the machine slower (adding the 8th extra camera took 13.6 s, the first 3 s).
// This keeps the latest status per camera and hands them over together at most once per period.

export interface Batcher<T> {
  push(key: string, value: T): void;
  /** Hands over what is waiting now (on close, in tests). */
  flush(): void;
  close(): void;
}

export function createBatcher<T>(
  apply: (batch: Record<string, T>) => void,
  periodMs: number,
  schedule: (fn: () => void, ms: number) => () => void = (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
): Batcher<T> {
  let waiting: Record<string, T> = {};
  let cancel: (() => void) | undefined;
  const flush = (): void => {
    cancel?.();
    cancel = undefined;
    const batch = waiting;
    waiting = {};
    if (Object.keys(batch).length) apply(batch);
  };
  return {
    push(key, value) {
      waiting[key] = value; // a newer status of the same camera replaces the one waiting
      cancel ??= schedule(flush, periodMs);
    },
    flush,
    close() {
      cancel?.();
      cancel = undefined;
      waiting = {};
    },
  };
}
