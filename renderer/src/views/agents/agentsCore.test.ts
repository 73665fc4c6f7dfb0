import { describe, expect, it } from 'vitest';
import type { PriceTable, TokenInfo } from '../../../../preload/contract';
import { expiresSoon, parsePrice, priceRows, relative, secondsLeft, skippedSummary, sortTokens, tokensShort, usd } from './agentsCore';

const token = (id: string, status: TokenInfo['status'], createdAt: number, expiresAt: number | null = null): TokenInfo => ({
  id,
  name: id,
  scopes: ['rooms:read'],
  roles: [],
  ratePerMinute: 60,
  burst: 20,
  hasPublicKey: false,
  createdAt,
  expiresAt,
  revokedAt: status === 'revoked' ? createdAt + 1 : null,
  lastUsedAt: null,
  status,
});

describe('agents view formatting', () => {
  it('says how long ago or until, in coarse units', () => {
    expect(relative(null, 0)).toBe('never');
    expect(relative(1000, 10_000)).toBe('just now');
    expect(relative(0, 5 * 60_000)).toBe('5 min ago');
    expect(relative(3 * 3_600_000, 0)).toBe('in 3 h');
    // "Last used" just after use, with the page's clock a tick behind: never "in 1 min".
    expect(relative(70_000, 0, 'past')).toBe('just now');
    expect(relative(0, 5 * 60_000, 'past')).toBe('5 min ago');
    expect(relative(0, 3 * 86_400_000)).toBe('3 d ago');
  });

  it('orders tokens active, expired, revoked, newest first within each', () => {
    const out = sortTokens([token('r', 'revoked', 5), token('a1', 'active', 1), token('e', 'expired', 9), token('a2', 'active', 3)]);
    expect(out.map((t) => t.id)).toEqual(['a2', 'a1', 'e', 'r']);
  });

  it('warns about active tokens that expire within a week only', () => {
    const day = 86_400_000;
    expect(expiresSoon(token('a', 'active', 0, 3 * day), 0)).toBe(true);
    expect(expiresSoon(token('a', 'active', 0, 30 * day), 0)).toBe(false);
    expect(expiresSoon(token('a', 'active', 0, null), 0)).toBe(false);
    expect(expiresSoon(token('a', 'revoked', 0, day), 0)).toBe(false);
  });

  it('formats money and token counts', () => {
    expect(usd(null)).toBe('no price');
    expect(usd(0.004)).toBe('< $0.01');
    expect(usd(12.345)).toBe('$12.35');
    expect(usd(1234.5)).toBe('$1,235');
    expect(tokensShort(2_500_000)).toBe('2.5 M');
    expect(tokensShort(45_300)).toBe('45 k');
  });

  it('lists only the skip reasons that happened', () => {
    expect(skippedSummary({ echo: 0, concealed: 2, secret: 1, tooLarge: 0 })).toBe('2 concealed, 1 looked secret');
    expect(skippedSummary({ echo: 0, concealed: 0, secret: 0, tooLarge: 0 })).toBe('none');
  });

  it('counts undo seconds up and stops at zero', () => {
    expect(secondsLeft(5_001, 0)).toBe(6);
    expect(secondsLeft(0, 10)).toBe(0);
  });

  it('lists priced models with the tiers that use them first', () => {
    const t: PriceTable = {
      asOf: '2025-01-01',
      source: 'x',
      currency: 'USD',
      tiers: { opus: 'm-opus', sonnet: 'm-sonnet', haiku: 'm-sonnet' },
      models: { 'm-old': { inputPerMTok: 1, outputPerMTok: 2 }, 'm-sonnet': { inputPerMTok: 3, outputPerMTok: 15 }, 'm-opus': { inputPerMTok: 15, outputPerMTok: 75 } },
      overridden: ['m-sonnet'],
    };
    const rows = priceRows(t);
    expect(rows.map((r) => r.model)).toEqual(['m-opus', 'm-sonnet', 'm-old']);
    expect(rows[1]).toMatchObject({ tiers: ['sonnet', 'haiku'], overridden: true });
  });

  it('parses price fields or explains the problem', () => {
    expect(parsePrice(' 0.8 ')).toBe(0.8);
    expect(parsePrice('')).toMatch(/Enter a price/);
    expect(parsePrice('abc')).toMatch(/Enter a price/);
    expect(parsePrice('-1')).toMatch(/from 0/);
  });
});
