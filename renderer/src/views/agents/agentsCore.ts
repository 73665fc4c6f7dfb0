// The Agents view's formatting rules, apart from React so they are tested in Node.
import type { PriceTable, RelayState, TokenInfo } from '../../../../preload/contract';

/**
 * "just now", "5 min ago", "3 h ago", "2 d ago"; "in 4 d" for the future; "never" for null. A time
 * that can only be past ('past': last used, connected) never reads as future, even when it is a
 * little ahead of the clock the page last ticked.
 */
export function relative(ts: number | null, now: number, kind: 'past' | 'any' = 'any'): string {
  if (ts === null) return 'never';
  const d = kind === 'past' ? Math.min(0, ts - now) : ts - now;
  const abs = Math.abs(d);
  const fmt = (n: number, u: string): string => (d > 0 ? `in ${n} ${u}` : `${n} ${u} ago`);
  if (abs < 45_000) return d > 0 ? 'in a moment' : 'just now';
  if (abs < 3_600_000) return fmt(Math.round(abs / 60_000), 'min');
  if (abs < 48 * 3_600_000) return fmt(Math.round(abs / 3_600_000), 'h');
  return fmt(Math.round(abs / 86_400_000), 'd');
}

/** Tokens: active first (newest first), then expired, then revoked. */
export function sortTokens(tokens: TokenInfo[]): TokenInfo[] {
  const rank = { active: 0, expired: 1, revoked: 2 } as const;
  return tokens.slice().sort((a, b) => rank[a.status] - rank[b.status] || b.createdAt - a.createdAt);
}

/** Whether an active token expires soon enough to warn about (within 7 days). */
export function expiresSoon(t: Pick<TokenInfo, 'status' | 'expiresAt'>, now: number): boolean {
  return t.status === 'active' && t.expiresAt !== null && t.expiresAt - now < 7 * 86_400_000;
}

export function usd(n: number | null): string {
  if (n === null) return 'no price';
  if (n === 0) return '$0';
  if (n < 0.01) return '< $0.01';
  return n < 100 ? `$${n.toFixed(2)}` : `$${Math.round(n).toLocaleString('en-US')}`;
}

export function tokensShort(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} k`;
  return String(n);
}

const reasonWords: Record<keyof RelayState['skipped'], string> = {
  echo: 'its own writes',
  concealed: 'concealed',
  secret: 'looked secret',
  tooLarge: 'too large',
};

/** "2 concealed, 1 looked secret" — only the reasons that happened, or "none". */
export function skippedSummary(skipped: RelayState['skipped']): string {
  const parts = (Object.keys(reasonWords) as (keyof RelayState['skipped'])[]).filter((k) => skipped[k] > 0).map((k) => `${skipped[k]} ${reasonWords[k]}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** Seconds left in an undo window, rounded up; 0 once it closed. */
export function secondsLeft(until: number, now: number): number {
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/** Rows of the price table for editing: model, its tier names, prices, and whether the user changed it. */
export function priceRows(t: PriceTable): { model: string; tiers: string[]; inputPerMTok: number; outputPerMTok: number; label?: string; overridden: boolean }[] {
  return Object.entries(t.models)
    .map(([model, p]) => ({
      model,
      tiers: (Object.entries(t.tiers) as [string, string][]).filter(([, m]) => m === model).map(([tier]) => tier),
      inputPerMTok: p.inputPerMTok,
      outputPerMTok: p.outputPerMTok,
      label: p.label,
      overridden: t.overridden.includes(model),
    }))
    .sort((a, b) => Number(b.tiers.length > 0) - Number(a.tiers.length > 0) || a.model.localeCompare(b.model));
}

/** A price field: a number of dollars per million tokens, or an explanation of what is wrong. */
export function parsePrice(s: string): number | string {
  const n = Number(s.trim());
  if (s.trim() === '' || !Number.isFinite(n)) return 'Enter a price in US$ per million tokens, e.g. 3 or 0.8';
  if (n < 0 || n > 10_000) return 'Prices are from 0 to 10,000 US$ per million tokens';
  return n;
}

export const when = (ts: number): string => new Date(ts).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
