import { describe, expect, it } from 'vitest';
import { createRestartBudget, goneMessage, rendererGoneAction } from './crash';

describe('renderer crash and restart', () => {
  it('reloads after a crash, three times a minute at most, then asks the user', () => {
    let t = 0;
    const budget = createRestartBudget({ now: () => t });
    expect(['crashed', 'oom', 'killed'].map((r) => rendererGoneAction(r as 'crashed', budget))).toEqual(['reload', 'reload', 'reload']);
    t = 30_000;
    expect(rendererGoneAction('crashed', budget)).toBe('ask');
    t = 61_000; // the first crashes have aged out of the window
    expect(rendererGoneAction('crashed', budget)).toBe('reload');
  });

  it('does nothing for a window that closed normally', () => {
    const budget = createRestartBudget({ limit: 0 });
    expect(rendererGoneAction('clean-exit', budget)).toBe('ignore');
  });

  it('words what happened for the log and the dialog', () => {
    expect(goneMessage('The camera helper', { reason: 'oom', exitCode: 134 })).toBe('The camera helper ran out of memory (exit code 134).');
  });
});
