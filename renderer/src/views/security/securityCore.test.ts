import { describe, expect, it } from 'vitest';
import { bulkLabel, groupSpan, shortFingerprint, splitFingerprints } from './securityCore';

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

describe('fingerprints in event text', () => {
  const fp = '02:A5:51:94:D7:1C:3A:F0:A3:2B:F5:10:5B:41:D2:DF:45:7D:54:8A:15:43:EB:53:EF:84:14:22:DE:35:31:83';
  it('finds a colon-separated SHA-256 fingerprint in a message and keeps the rest as text', () => {
    const msg = `Demo 8: HTTPS certificate ${fp} pinned (trust on first use)`;
    const parts = splitFingerprints(msg);
    expect(parts).toEqual([{ text: 'Demo 8: HTTPS certificate ' }, { fingerprint: fp }, { text: ' pinned (trust on first use)' }]);
    expect(parts.map((p) => ('text' in p ? p.text : p.fingerprint)).join('')).toBe(msg);
  });
  it('finds the bare 64-digit form and leaves short hex (key ids) alone', () => {
    const hex = 'ab'.repeat(32);
    expect(splitFingerprints(`fingerprint=${hex} keyId=dec236ce3870716e`)).toEqual([{ text: 'fingerprint=' }, { fingerprint: hex }, { text: ' keyId=dec236ce3870716e' }]);
    expect(splitFingerprints('keyId=dec236ce3870716e previous=null')).toEqual([{ text: 'keyId=dec236ce3870716e previous=null' }]);
    // 31 bytes is not a SHA-256 fingerprint.
    expect(splitFingerprints(fp.slice(3))).toEqual([{ text: fp.slice(3) }]);
  });
  it('shortens to the first and last four bytes', () => {
    expect(shortFingerprint(fp)).toBe('02:A5:51:94…DE:35:31:83');
    expect(shortFingerprint('ab'.repeat(32))).toBe('abababab…abababab');
  });
});
