import { describe, expect, it } from 'vitest';
import { bulkLabel, groupSpan } from './securityCore';

describe('security groups', () => {
  it('says how often and over what span a group happened', () => {
    const at = (h: number, m: number): number => new Date(2026, 0, 2, h, m, 0).getTime();
    expect(groupSpan({ count: 12, firstTs: at(8, 1), lastTs: at(8, 7) })).toMatch(/^12× between 08:01:00 and 08:07:00$/);
    expect(groupSpan({ count: 1, firstTs: at(9, 0), lastTs: at(9, 0) })).toBe('09:00:00');
  });
  it('names the bulk action by what it resolves', () => {
    expect(bulkLabel({ open: 240, kind: 'transport.refused' })).toBe('Resolve all 240 open transport.refused events');
    expect(bulkLabel({ open: 1, kind: 'x' })).toBe('Resolve the open x event');
  });
});
