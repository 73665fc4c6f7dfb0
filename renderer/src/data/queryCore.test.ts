import { describe, expect, it } from 'vitest';
import { createQuery, inputKey, type QueryState } from './queryCore';

/** A fetch whose answers the test hands out one by one. */
function manualFetch<T>() {
  const pending: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  const fetch = (): Promise<T> => new Promise<T>((resolve, reject) => pending.push({ resolve, reject }));
  return { fetch, pending };
}
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('createQuery', () => {
  it('loads, then reports the data and clears loading', async () => {
    const f = manualFetch<number>();
    const seen: QueryState<number>[] = [];
    const q = createQuery(f.fetch, (s) => seen.push(s), () => 42);
    expect(q.state().loading).toBe(true);
    q.refresh();
    f.pending[0]!.resolve(7);
    await flush();
    expect(q.state()).toEqual({ data: 7, error: undefined, loading: false, updatedAt: 42 });
  });

  it('coalesces a burst of refreshes while one fetch runs into one more fetch', async () => {
    const f = manualFetch<number>();
    const q = createQuery(f.fetch, () => {});
    q.refresh();
    q.refresh();
    q.refresh();
    q.refresh();
    expect(f.pending).toHaveLength(1);
    f.pending[0]!.resolve(1);
    await flush();
    expect(f.pending).toHaveLength(2);
    f.pending[1]!.resolve(2);
    await flush();
    expect(f.pending).toHaveLength(2);
    expect(q.state().data).toBe(2);
  });

  it('keeps the last good data beside an error, and clears the error on the next success', async () => {
    const f = manualFetch<string>();
    const q = createQuery(f.fetch, () => {});
    q.refresh();
    f.pending[0]!.resolve('a');
    await flush();
    q.refresh();
    f.pending[1]!.reject(new Error('connection lost'));
    await flush();
    expect(q.state()).toMatchObject({ data: 'a', error: 'connection lost', loading: false });
    q.refresh();
    f.pending[2]!.resolve('b');
    await flush();
    expect(q.state()).toMatchObject({ data: 'b', error: undefined });
  });

  it('a fetch that started before an event was applied does not overwrite the newer data', async () => {
    const f = manualFetch<number[]>();
    const q = createQuery(f.fetch, () => {});
    q.refresh();
    q.apply((prev) => [...(prev ?? []), 99]);
    f.pending[0]!.resolve([1]);
    await flush();
    expect(q.state().data).toEqual([99]);
    // A fetch started after the event is taken.
    q.refresh();
    f.pending[1]!.resolve([1, 99]);
    await flush();
    expect(q.state().data).toEqual([1, 99]);
  });

  it('a patch (an event that changes one part) does not make the fetch in flight stale', async () => {
    const f = manualFetch<{ graph: number; quarantined: string[] }>();
    const q = createQuery(f.fetch, () => {});
    q.refresh();
    q.apply((prev) => (prev ? { ...prev, graph: 2 } : { graph: 2, quarantined: [] }), { patch: true });
    f.pending[0]!.resolve({ graph: 1, quarantined: ['CAM1'] });
    await flush();
    expect(q.state().data?.quarantined).toEqual(['CAM1']);
  });

  it('an apply that returns the same data changes nothing and notifies nobody', () => {
    let notified = 0;
    const q = createQuery(() => Promise.resolve(1), () => notified++);
    q.apply((prev) => prev);
    expect(notified).toBe(0);
  });

  it('reports nothing after dispose', async () => {
    const f = manualFetch<number>();
    let notified = 0;
    const q = createQuery(f.fetch, () => notified++);
    q.refresh();
    q.dispose();
    f.pending[0]!.resolve(3);
    await flush();
    q.refresh();
    expect(notified).toBe(0);
    expect(f.pending).toHaveLength(1);
  });
});

describe('inputKey', () => {
  it('is the same for the same input whatever the key order, and differs when a value does', () => {
    expect(inputKey({ a: 1, b: { c: 2, d: 3 } })).toBe(inputKey({ b: { d: 3, c: 2 }, a: 1 }));
    expect(inputKey({ a: 1 })).not.toBe(inputKey({ a: 2 }));
    expect(inputKey({ a: [1, 2] })).not.toBe(inputKey({ a: [2, 1] }));
  });
});

describe('createQuery with a minimum interval', () => {
  it('starts fetches at least that far apart, one fetch standing for every refresh asked meanwhile', async () => {
    let clock = 0;
    const timers: { fn: () => void; at: number }[] = [];
    let calls = 0;
    const q = createQuery(
      () => Promise.resolve(++calls),
      () => {},
      { now: () => clock, minIntervalMs: 1000, setTimeout: (fn, ms) => timers.push({ fn, at: clock + ms }), clearTimeout: () => {} },
    );
    q.refresh();
    await flush();
    expect(calls).toBe(1);
    clock = 200;
    q.refresh();
    q.refresh();
    q.refresh();
    await flush();
    expect(calls).toBe(1);
    expect(timers).toHaveLength(1);
    expect(timers[0]!.at).toBe(1000);
    clock = 1000;
    timers[0]!.fn();
    await flush();
    expect(calls).toBe(2);
    expect(q.state().data).toBe(2);
  });
});

describe('an immediate refresh', () => {
  it('skips the minimum interval after the user\'s own action; a plain one waits for it', async () => {
    let clock = 0;
    let calls = 0;
    const timers: (() => void)[] = [];
    const q = createQuery(
      async () => ++calls,
      () => {},
      { now: () => clock, minIntervalMs: 2000, setTimeout: (fn) => timers.push(fn), clearTimeout: () => {} },
    );
    q.refresh();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(1);
    clock = 100;
    q.refresh();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(1); // waits for the interval
    q.refresh({ immediate: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(2);
  });
});
