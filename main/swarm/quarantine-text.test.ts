import { describe, expect, it } from 'vitest';
import { clockTime, duration, readableReason } from './quarantine-text';

describe('quarantine text', () => {
  const ts = new Date(2026, 11, 4, 16, 27, 29, 120).getTime();
  it('replaces the epoch-millisecond timestamp with a local clock time', () => {
    const r = readableReason({ ts, detectedAt: ts + 40, reason: `track 7 at ${ts} reported as human and as car` });
    expect(r).toBe('track 7 at 16:27:29.120 reported as human and as car');
    expect(r).not.toMatch(/\d{10,}/);
  });
  it('says how much later the contradiction was found when that is a second or more', () => {
    const r = readableReason({ ts, detectedAt: ts + 3_240, reason: `track 7 at ${ts} reported at two places 0.412 apart (limit 0.2)` });
    expect(r).toBe('track 7 at 16:27:29.120 reported at two places 0.412 apart (limit 0.2); found 3.2 s later');
  });
  it('leaves a reason without that timestamp as it is', () => {
    expect(readableReason({ ts, detectedAt: ts, reason: 'something else at 12' })).toBe('something else at 12');
  });
  it('formats clock times and durations', () => {
    expect(clockTime(new Date(2026, 0, 1, 3, 4, 5, 6).getTime())).toBe('03:04:05.006');
    expect([850, 3_240, 42_000, 250_000, 7_500_000].map(duration)).toEqual(['850 ms', '3.2 s', '42 s', '4 min 10 s', '2 h 5 min']);
  });
});
