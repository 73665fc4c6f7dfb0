import { describe, expect, it } from 'vitest';
import { createBatcher } from './statusBatchCore';

/** A manual clock: scheduled callbacks run when the test advances time. */
function manual() {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    schedule: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return () => void (t.live = false);
    },
    advance(ms: number) {
      now += ms;
      for (const t of timers) if (t.live && t.at <= now) {
        t.live = false;
        t.fn();
      }
    },
    pending: () => timers.filter((t) => t.live).length,
  };
}

describe('status batcher', () => {
  it('hands over many events as one batch per period, the latest per camera', () => {
    const clock = manual();
    const batches: Record<string, number>[] = [];
    const b = createBatcher<number>((x) => batches.push(x), 250, clock.schedule);
    // 16 cameras, each reporting twice within the period: 32 events.
    for (let round = 0; round < 2; round++) for (let c = 0; c < 16; c++) b.push(`cam${c}`, round * 100 + c);
    expect(clock.pending()).toBe(1);
    expect(batches).toHaveLength(0);
    clock.advance(250);
    expect(batches).toHaveLength(1);
    expect(Object.keys(batches[0]!)).toHaveLength(16);
    expect(batches[0]!.cam3).toBe(103);
    // Quiet: nothing scheduled, nothing applied.
    clock.advance(1000);
    expect(batches).toHaveLength(1);
    b.push('cam1', 7);
    clock.advance(250);
    expect(batches[1]).toEqual({ cam1: 7 });
  });

  it('flushes at once when asked and forgets everything on close', () => {
    const clock = manual();
    const batches: Record<string, string>[] = [];
    const b = createBatcher<string>((x) => batches.push(x), 250, clock.schedule);
    b.push('a', 'x');
    b.flush();
    expect(batches).toEqual([{ a: 'x' }]);
    expect(clock.pending()).toBe(0);
    b.push('b', 'y');
    b.close();
    clock.advance(500);
    expect(batches).toHaveLength(1);
  });
});
