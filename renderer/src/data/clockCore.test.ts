import { describe, expect, it } from 'vitest';
import { createTicker } from './clockCore';

function fakeTimers() {
  let t = 1000;
  const intervals = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    timers: {
      setInterval: (fn: () => void, ms: number) => {
        const id = next++;
        intervals.set(id, { fn, ms });
        return id;
      },
      clearInterval: (h: unknown) => void intervals.delete(h as number),
      now: () => t,
    },
    advance(ms: number) {
      t += ms;
      for (const i of [...intervals.values()]) if (i.ms <= ms) i.fn();
    },
    count: () => intervals.size,
  };
}

describe('createTicker', () => {
  it('shares one timer per period between subscribers and stops it with the last one', () => {
    const f = fakeTimers();
    const ticker = createTicker(f.timers);
    let a = 0;
    let b = 0;
    const offA = ticker.subscribe(1000, () => a++);
    const offB = ticker.subscribe(1000, () => b++);
    const offC = ticker.subscribe(60_000, () => {});
    expect(f.count()).toBe(2);
    f.advance(1000);
    expect([a, b]).toEqual([1, 1]);
    expect(ticker.now(1000)).toBe(2000);
    offA();
    expect(f.count()).toBe(2);
    offB();
    offC();
    expect(f.count()).toBe(0);
    expect(ticker.running()).toBe(0);
    expect(ticker.now(1000)).toBeUndefined();
  });

  it('a subscriber that leaves during a tick does not stop the others being told', () => {
    const f = fakeTimers();
    const ticker = createTicker(f.timers);
    let told = 0;
    const off = ticker.subscribe(500, () => off());
    ticker.subscribe(500, () => told++);
    f.advance(500);
    expect(told).toBe(1);
  });
});
