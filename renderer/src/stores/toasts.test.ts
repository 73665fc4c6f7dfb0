import { describe, expect, it } from 'vitest';
import { expireToasts, MAX_TOASTS, pushToast, TOAST_MS, type Toast } from './toasts';

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
});
