import { describe, expect, it } from 'vitest';
import { busyShare, parseProcStat, waitForQuiet } from './settle.mjs';

const stat = (user: number, system: number, idle: number, iowait = 0): string =>
  `cpu  ${user} 0 ${system} ${idle} ${iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 12345\n`;

describe('settle', () => {
  it('reads busy and total jiffies from the aggregate line; idle and iowait are not busy', () => {
    expect(parseProcStat(stat(100, 50, 800, 50))).toEqual({ busy: 150, total: 1000 });
    expect(() => parseProcStat('intr 1\n')).toThrow(/no aggregate/);
    expect(busyShare({ busy: 150, total: 1000 }, { busy: 250, total: 1400 })).toBe(0.25);
    expect(busyShare({ busy: 1, total: 1 }, { busy: 1, total: 1 })).toBe(0);
  });

  it('waits window after window until the machine is quiet, and says what it saw', async () => {
    // Busy share per window: 90 %, 60 %, then 10 %.
    const shares = [0.9, 0.6, 0.1];
    let t = 0;
    let busy = 0;
    let total = 0;
    let reads = 0;
    const r = await waitForQuiet({
      threshold: 0.2,
      windowMs: 2000,
      maxMs: 60_000,
      read: () => {
        // Even reads open a window, odd reads close it with that window's share.
        if (reads++ % 2 === 1) {
          busy += shares[(reads - 2) / 2]! * 200;
          total += 200;
        }
        return stat(busy, 0, total - busy);
      },
      sleep: async (ms) => void (t += ms),
      now: () => t,
      loadavg: () => '0.10 0.20 0.30 1/100 1',
    });
    expect(r).toEqual({ settled: true, cpu_busy_percent: 10, threshold_percent: 20, waited_s: 6, windows: 3, loadavg: '0.10 0.20 0.30 1/100 1' });
  });

  it('gives up at the cap on a machine that stays busy, and says it did not settle', async () => {
    let t = 0;
    let n = 0;
    const r = await waitForQuiet({
      threshold: 0.2,
      windowMs: 2000,
      maxMs: 7000,
      read: () => stat(++n * 150, 0, n * 50),
      sleep: async (ms) => void (t += ms),
      now: () => t,
      loadavg: () => 'x',
    });
    expect(r.settled).toBe(false);
    expect(r.cpu_busy_percent).toBe(75);
    expect(r.waited_s).toBeLessThanOrEqual(7);
    expect(r.windows).toBe(3);
  });
});
