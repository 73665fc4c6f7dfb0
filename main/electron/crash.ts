// What app mode does when a process dies: the renderer is reloaded a few times, then the user is
// asked; the helper is restarted by its supervisor (main/fleet), here it is only explained in the
// log. Crash dumps stay on this machine (crashReporter with uploadToServer: false).

export type GoneReason = 'clean-exit' | 'abnormal-exit' | 'killed' | 'crashed' | 'oom' | 'launch-failed' | 'integrity-failure' | 'memory-eviction';

/** At most `limit` automatic restarts within `windowMs`; past that a person decides. */
export function createRestartBudget(o: { limit?: number; windowMs?: number; now?: () => number } = {}): { allow(): boolean } {
  const limit = o.limit ?? 3;
  const windowMs = o.windowMs ?? 60_000;
  const now = o.now ?? Date.now;
  const times: number[] = [];
  return {
    allow() {
      const t = now();
      while (times.length && t - times[0]! > windowMs) times.shift();
      if (times.length >= limit) return false;
      times.push(t);
      return true;
    },
  };
}

export type RendererAction = 'ignore' | 'reload' | 'ask';

/** render-process-gone: a clean exit needs nothing; a crash reloads the window while the budget lasts. */
export function rendererGoneAction(reason: GoneReason, budget: { allow(): boolean }): RendererAction {
  if (reason === 'clean-exit') return 'ignore';
  return budget.allow() ? 'reload' : 'ask';
}

export function goneMessage(what: string, d: { reason: GoneReason; exitCode: number }): string {
  const why: Record<GoneReason, string> = {
    'clean-exit': 'ended normally',
    'abnormal-exit': 'ended with an error',
    killed: 'was killed',
    crashed: 'crashed',
    oom: 'ran out of memory',
    'launch-failed': 'could not start',
    'integrity-failure': 'failed its code-integrity check',
    'memory-eviction': 'was stopped to free memory',
  };
  return `${what} ${why[d.reason] ?? d.reason} (exit code ${d.exitCode}).`;
}
