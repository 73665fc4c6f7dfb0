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
}

export const MAX_TOASTS = 3;
export const TOAST_MS: Record<AppNotification['severity'], number> = { info: 5_000, warning: 8_000, critical: 20_000 };
const rank: Record<AppNotification['severity'], number> = { info: 0, warning: 1, critical: 2 };

/** The stack after `n` arrives; `id` is used only when it does not join an existing toast. */
export function pushToast(stack: readonly Toast[], n: AppNotification, id: number, now: number): Toast[] {
  const same = stack.find((t) => t.title === n.title && t.severity === n.severity);
  // A repeat moves to the newest place with the latest body and a fresh timer.
  const next: Toast[] = same
    ? [...stack.filter((t) => t !== same), { ...same, body: n.body, count: same.count + 1, expiresAt: now + TOAST_MS[n.severity] }]
    : [...stack, { ...n, id, count: 1, expiresAt: now + TOAST_MS[n.severity] }];
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
