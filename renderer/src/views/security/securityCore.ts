// The Security view's rules, apart from React: how a group reads, and which groups a view shows.
import type { AuditGroup } from '../../../../preload/contract';

export const time = (ts: number): string => new Date(ts).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });

/** "12× between 08:01:02 and 08:07:40" — how often and over what span a repeated event happened. */
export function groupSpan(g: Pick<AuditGroup, 'count' | 'firstTs' | 'lastTs'>): string {
  const t = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour12: false });
  if (g.count === 1) return t(g.lastTs);
  const sameDay = new Date(g.firstTs).toDateString() === new Date(g.lastTs).toDateString();
  return `${g.count}× between ${sameDay ? t(g.firstTs) : time(g.firstTs)} and ${t(g.lastTs)}`;
}

/** What the bulk button says and may do: resolve the open ones the operator saw, never more. */
export function bulkLabel(g: Pick<AuditGroup, 'open' | 'kind'>): string {
  return g.open === 1 ? `Resolve the open ${g.kind} event` : `Resolve all ${g.open} open ${g.kind} events`;
}

/**
 * Certificate fingerprints as the audit writes them: SHA-256 as 32 colon-separated hex bytes (95
 * characters), or the same 64 hex digits without colons. Printed whole they wrapped over four lines
 * and made a row ~290 px tall; the view shows them shortened (shortFingerprint) with the whole one
 * in the title and a copy button.
 */
const FINGERPRINT = /\b(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}\b|\b[0-9A-Fa-f]{64}\b/g;

export type TextPart = { text: string } | { fingerprint: string };

/** Splits text into plain runs and fingerprints, in order; joining them back gives the text. */
export function splitFingerprints(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const m of text.matchAll(FINGERPRINT)) {
    if (m.index > at) parts.push({ text: text.slice(at, m.index) });
    parts.push({ fingerprint: m[0] });
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}

/** "02:A5:51:94…DE:35:31:83": the first and last four bytes, enough to compare by eye with what a camera shows. */
export function shortFingerprint(fp: string): string {
  if (fp.includes(':')) {
    const b = fp.split(':');
    return `${b.slice(0, 4).join(':')}…${b.slice(-4).join(':')}`;
  }
  return `${fp.slice(0, 8)}…${fp.slice(-8)}`;
}
