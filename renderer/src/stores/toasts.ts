// The toast stack as a pure function of (stack, notification, now), so its rules are tested:
// repeats of one title collapse into one toast with a count, the stack is capped, critical ones
// stay longest and are the last to be pushed out.
import type { AppNotification } from '../../../preload/contract';

export interface Toast extends AppNotification {
  id: number;
  /** How many notifications this toast stands for (repeats of the same title and severity). */
  count: number;
  /** When it goes away by itself (ms since the epoch). */
  expiresAt: number;
  /** When it was first shown: repeats keep it up, but not for ever. */
  shownAt: number;
}

/** A toast kept up by repeats goes away after this many of its own lifetimes all the same. */
export const MAX_LIFETIMES = 3;
/** After a toast went away, repeats of it within this time are counted, not shown again. */
export const QUIET_MS = 5 * 60_000;

/** Titles that went away recently, with how many repeats came while they stayed away. */
export type Quiet = Readonly<Record<string, { until: number; missed: number }>>;
const keyOf = (n: Pick<AppNotification, 'title' | 'severity'>): string => `${n.severity}|${n.title}`;

/**
 * What to do with a notification: show it (new, or a repeat of one on screen), or count it quietly
 * because the same one went away less than QUIET_MS ago (one zone's intervention toast repeated 59
 * times in 6 minutes). A critical one is always shown. Returns the new stack and quiet record.
 */
export function receiveToast(stack: readonly Toast[], quiet: Quiet, n: AppNotification, id: number, now: number): { stack: Toast[]; quiet: Quiet } {
  const key = keyOf(n);
  const q = quiet[key];
  const onScreen = stack.some((t) => keyOf(t) === key);
  if (!onScreen && q && q.until > now && n.severity !== 'critical') return { stack: [...stack], quiet: { ...quiet, [key]: { ...q, missed: q.missed + 1 } } };
  const next = pushToast(stack, n, id, now);
  const missed = q ? q.missed : 0;
  const { [key]: _gone, ...rest } = quiet;
  return { stack: missed ? next.map((t) => (keyOf(t) === key && !onScreen ? { ...t, count: t.count + missed } : t)) : next, quiet: rest };
}

/** Expire toasts, remembering the ones that went so their repeats stay quiet for a while. */
export function expireWithQuiet(stack: readonly Toast[], quiet: Quiet, now: number): { stack: Toast[]; quiet: Quiet } {
  const kept = expireToasts(stack, now);
  const q: Record<string, { until: number; missed: number }> = Object.fromEntries(Object.entries(quiet).filter(([, v]) => v.until + QUIET_MS > now));
  for (const t of stack) if (!kept.includes(t)) q[keyOf(t)] = { until: now + QUIET_MS, missed: 0 };
  return { stack: kept, quiet: q };
}

/** The user closed it: its repeats stay quiet for a while too. */
export function dismissToast(stack: readonly Toast[], quiet: Quiet, id: number, now: number): { stack: Toast[]; quiet: Quiet } {
  const t = stack.find((x) => x.id === id);
  return { stack: stack.filter((x) => x.id !== id), quiet: t ? { ...quiet, [keyOf(t)]: { until: now + QUIET_MS, missed: 0 } } : quiet };
}

export const MAX_TOASTS = 3;
export const TOAST_MS: Record<AppNotification['severity'], number> = { info: 5_000, warning: 8_000, critical: 20_000 };
const rank: Record<AppNotification['severity'], number> = { info: 0, warning: 1, critical: 2 };

/** The stack after `n` arrives; `id` is used only when it does not join an existing toast. */
export function pushToast(stack: readonly Toast[], n: AppNotification, id: number, now: number): Toast[] {
  const same = stack.find((t) => t.title === n.title && t.severity === n.severity);
  // A repeat moves to the newest place with the latest body and a fresh timer.
  const next: Toast[] = same
    ? [...stack.filter((t) => t !== same), { ...same, body: n.body, count: same.count + 1, expiresAt: Math.min(now + TOAST_MS[n.severity], same.shownAt + MAX_LIFETIMES * TOAST_MS[n.severity]) }]
    : [...stack, { ...n, id, count: 1, expiresAt: now + TOAST_MS[n.severity], shownAt: now }];
  while (next.length > MAX_TOASTS) {
    // Push out the least severe, oldest first.
    let drop = 0;
    for (let i = 1; i < next.length; i++) if (rank[next[i]!.severity] < rank[next[drop]!.severity]) drop = i;
    next.splice(drop, 1);
  }
  return next;
}

/** The stack without the toasts whose time is up. */
export function expireToasts(stack: readonly Toast[], now: number): Toast[] {
  return stack.filter((t) => t.expiresAt > now);
}
