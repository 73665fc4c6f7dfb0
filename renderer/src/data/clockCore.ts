// One timer per period, shared by every component that shows the time at that period, and stopped
// when the last one goes away. Timers and clock are parameters so the rules are tested.
type Listener = () => void;

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  now(): number;
}

export interface Ticker {
  subscribe(periodMs: number, listener: Listener): () => void;
  /** The time of the last tick at that period; undefined when nothing ticks at it. */
  now(periodMs: number): number | undefined;
  /** How many timers run (for tests). */
  running(): number;
}

export function createTicker(timers: Timers): Ticker {
  const groups = new Map<number, { listeners: Set<Listener>; handle: unknown; now: number }>();
  return {
    subscribe(periodMs, listener) {
      let g = groups.get(periodMs);
      if (!g) {
        const group = { listeners: new Set<Listener>(), handle: undefined as unknown, now: timers.now() };
        group.handle = timers.setInterval(() => {
          group.now = timers.now();
          for (const l of [...group.listeners]) l();
        }, periodMs);
        groups.set(periodMs, (g = group));
      }
      const group = g;
      group.listeners.add(listener);
      return () => {
        group.listeners.delete(listener);
        if (group.listeners.size === 0 && groups.get(periodMs) === group) {
          timers.clearInterval(group.handle);
          groups.delete(periodMs);
        }
      };
    },
    now: (periodMs) => groups.get(periodMs)?.now,
    running: () => groups.size,
  };
}
