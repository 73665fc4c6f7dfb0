import { describe, expect, it } from 'vitest';
import { claimsFl, FL_TOPIC_SUFFIX, isFlOnlyBatch } from './fl-batch';

describe('the fl-only batch rule', () => {
  const fl = `axis/ACCC8E000001${FL_TOPIC_SUFFIX}`;
  it('needs every known fact to say fl', () => {
    expect(claimsFl({ topic: fl })).toBe(true);
    expect(claimsFl({ kind: 'fl' })).toBe(true);
    expect(claimsFl({ topic: fl, kind: 'fl' })).toBe(true);
    expect(claimsFl({ topic: fl, kind: 'heartbeat' })).toBe(false);
    expect(claimsFl({ topic: 'axis/ACCC8E000001/omnisight/detections', kind: 'fl' })).toBe(false);
    expect(claimsFl({ topic: fl, kind: null })).toBe(false);
    expect(claimsFl({})).toBe(false);
  });
  it('holds for a non-empty batch of fl claims only', () => {
    expect(isFlOnlyBatch([])).toBe(false);
    expect(isFlOnlyBatch([{ topic: fl }, { kind: 'fl' }])).toBe(true);
    expect(isFlOnlyBatch([{ topic: fl }, { topic: 'axis/ACCC8E000001/omnisight/heartbeat' }])).toBe(false);
  });
});
