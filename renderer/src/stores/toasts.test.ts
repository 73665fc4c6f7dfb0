import { describe, expect, it } from 'vitest';
import { dismissToast, expireToasts, expireWithQuiet, MAX_LIFETIMES, MAX_TOASTS, pushToast, QUIET_MS, receiveToast, TOAST_MS, type Quiet, type Toast } from './toasts';

const slow = (cam: string) => ({ title: 'Detector too slow', body: `Camera ${cam} skips frames`, severity: 'warning' as const });

describe('toast stack', () => {
  it('collapses repeats of one title into one toast with a count and the latest body', () => {
    let s: Toast[] = [];
    for (let i = 0; i < 5; i++) s = pushToast(s, slow(`C${i}`), i + 1, 1_000 * i);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ id: 1, count: 5, body: 'Camera C4 skips frames', expiresAt: 4_000 + TOAST_MS.warning });
  });

  it('caps the stack and pushes out the least severe, oldest first', () => {
    let s: Toast[] = [];
    s = pushToast(s, { title: 'Budget', body: 'x', severity: 'critical' }, 1, 0);
    s = pushToast(s, { title: 'A', body: 'x', severity: 'info' }, 2, 0);
    s = pushToast(s, { title: 'B', body: 'x', severity: 'warning' }, 3, 0);
    s = pushToast(s, { title: 'C', body: 'x', severity: 'info' }, 4, 0);
    expect(s).toHaveLength(MAX_TOASTS);
    expect(s.map((t) => t.title)).toEqual(['Budget', 'B', 'C']);
    s = pushToast(s, { title: 'D', body: 'x', severity: 'warning' }, 5, 0);
    s = pushToast(s, { title: 'E', body: 'x', severity: 'warning' }, 6, 0);
    expect(s.map((t) => t.title)).toEqual(['Budget', 'D', 'E']); // the critical one stays
  });

  it('keeps critical toasts longest', () => {
    let s: Toast[] = [];
    s = pushToast(s, { title: 'Crit', body: 'x', severity: 'critical' }, 1, 0);
    s = pushToast(s, slow('A'), 2, 0);
    s = pushToast(s, { title: 'Info', body: 'x', severity: 'info' }, 3, 0);
    expect(expireToasts(s, TOAST_MS.info).map((t) => t.title)).toEqual(['Crit', 'Detector too slow']);
    expect(expireToasts(s, TOAST_MS.warning).map((t) => t.title)).toEqual(['Crit']);
    expect(expireToasts(s, TOAST_MS.critical)).toEqual([]);
  });

  it('treats the same title at another severity as a different toast', () => {
    let s: Toast[] = [];
    s = pushToast(s, { title: 'Fleet health is dropping', body: 'slow burn', severity: 'warning' }, 1, 0);
    s = pushToast(s, { title: 'Fleet health is dropping', body: 'fast burn', severity: 'critical' }, 2, 0);
    expect(s.map((t) => t.count)).toEqual([1, 1]);
  });

  it('does not keep a repeated toast up for ever', () => {
    let s: Toast[] = [];
    for (let t = 0; t < 10 * TOAST_MS.warning; t += 1000) s = pushToast(expireToasts(s, t), slow('A'), 1, t);
    // Shown again after it went, but each showing lasts at most MAX_LIFETIMES lifetimes.
    expect(s[0]!.expiresAt - s[0]!.shownAt).toBeLessThanOrEqual(MAX_LIFETIMES * TOAST_MS.warning);
  });

  it('counts repeats quietly for a while after the toast went away, then shows them with the count', () => {
    const zone = { title: 'Intervention point: Dock', body: 'track 1', severity: 'warning' as const };
    let st: { stack: Toast[]; quiet: Quiet } = { stack: [], quiet: {} };
    st = receiveToast(st.stack, st.quiet, zone, 1, 0);
    st = expireWithQuiet(st.stack, st.quiet, TOAST_MS.warning + 1);
    expect(st.stack).toEqual([]);
    // 59 repeats in the next minutes: none pops up.
    for (let i = 0; i < 59; i++) st = receiveToast(st.stack, st.quiet, { ...zone, body: `track ${i}` }, 10 + i, TOAST_MS.warning + 2 + i * 1000);
    expect(st.stack).toEqual([]);
    // After the quiet time, the next one shows and says how many there were.
    st = receiveToast(st.stack, st.quiet, zone, 100, TOAST_MS.warning + 1 + QUIET_MS + 1);
    expect(st.stack).toHaveLength(1);
    expect(st.stack[0]!.count).toBe(60);
  });

  it('always shows a critical one, and a dismissed toast stays quiet too', () => {
    const crit = { title: 'Budget', body: 'x', severity: 'critical' as const };
    let st = receiveToast([], {}, crit, 1, 0);
    st = dismissToast(st.stack, st.quiet, 1, 10);
    st = receiveToast(st.stack, st.quiet, crit, 2, 20);
    expect(st.stack).toHaveLength(1);
    st = dismissToast(receiveToast([], {}, slow('A'), 3, 0).stack, {}, 3, 10);
    expect(receiveToast(st.stack, st.quiet, slow('B'), 4, 20).stack).toEqual([]);
  });
});
