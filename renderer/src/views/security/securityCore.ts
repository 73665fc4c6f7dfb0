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
